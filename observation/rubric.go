package observation

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"time"
)

// Text is a translated string: language tag ("en", "es") → text. English is always present.
type Text map[string]string

// In returns the text in lang, falling back to English.
func (t Text) In(lang string) string {
	if s, ok := t[lang]; ok && s != "" {
		return s
	}
	return t[DefaultLanguage]
}

// DefaultLanguage is the language every rubric text must have.
const DefaultLanguage = "en"

// VersionStatus is the lifecycle state of a rubric version.
type VersionStatus string

const (
	StatusDraft     VersionStatus = "draft"     // editable, not yet usable for records
	StatusPublished VersionStatus = "published" // immutable, accepts records
	StatusRetired   VersionStatus = "retired"   // immutable, no longer accepts new records
)

// Speaker says whose talk move a tally category counts.
type Speaker string

const (
	SpeakerTeacher Speaker = "teacher"
	SpeakerStudent Speaker = "student"
)

// Measure marks tally categories that feed a derived statistic (docs/statistics.md "Definitions").
type Measure string

const (
	MeasureNone      Measure = ""
	MeasurePress     Measure = "press"     // teacher pressing for accuracy or reasoning → press share
	MeasureReasoning Measure = "reasoning" // student providing evidence or reasoning → reasoning share
)

// RubricContent is everything a rubric version says. It is what the content hash covers, and it
// is stored as JSON; field order and names are part of the hash, so change them only with care.
type RubricContent struct {
	Title            Text                 `json:"title"`
	Description      Text                 `json:"description,omitempty"`
	Languages        []string             `json:"languages"`         // languages every text is offered in; "en" first
	MinLevel         int                  `json:"min_level"`         // lowest score, 1 for the default rubric
	MaxLevel         int                  `json:"max_level"`         // highest score, 4 for the default rubric
	ProficiencyLevel int                  `json:"proficiency_level"` // scores at or above this are proficient
	NotObserved      NotObservedValue     `json:"not_observed"`
	Dimensions       []Dimension          `json:"dimensions"`
	TallyCategories  []TallyCategory      `json:"tally_categories"`
	Participation    []ParticipationField `json:"participation_fields,omitempty"`
}

// NotObservedValue is the score a dimension gets when it could not be observed ("NO").
type NotObservedValue struct {
	Code        string `json:"code"` // e.g. "NO"
	Label       Text   `json:"label"`
	Description Text   `json:"description"`
}

// Dimension is one scored row of the rubric.
type Dimension struct {
	Key              string            `json:"key"`
	Title            Text              `json:"title"`
	Description      Text              `json:"description,omitempty"`
	Levels           []LevelDescriptor `json:"levels"`
	AllowNotObserved bool              `json:"allow_not_observed"`
	// NotComparable marks a dimension whose meaning changed in this version: trends do not
	// compare it with earlier versions of the same rubric.
	NotComparable bool `json:"not_comparable,omitempty"`
}

// LevelDescriptor describes what one score of a dimension looks like in class.
type LevelDescriptor struct {
	Level      int  `json:"level"`
	Label      Text `json:"label,omitempty"`
	Descriptor Text `json:"descriptor"`
}

// TallyCategory is one talk move an observer counts.
type TallyCategory struct {
	Key         string  `json:"key"`
	Speaker     Speaker `json:"speaker"`
	Title       Text    `json:"title"`
	Description Text    `json:"description,omitempty"`
	Measure     Measure `json:"measure,omitempty"`
}

// ParticipationField is one optional per-contribution coding field, aggregated on the tablet into
// counts per option. When DistrictDefined is set, the options are the district's student groups
// and Options is empty.
type ParticipationField struct {
	Key             string   `json:"key"`
	Title           Text     `json:"title"`
	Description     Text     `json:"description,omitempty"`
	DistrictDefined bool     `json:"district_defined,omitempty"`
	Options         []Option `json:"options,omitempty"`
}

// Option is one allowed value of a participation field.
type Option struct {
	Key   string `json:"key"`
	Label Text   `json:"label"`
}

// Hash returns the content hash: hex SHA-256 of the canonical JSON encoding. encoding/json
// writes struct fields in declaration order and map keys sorted, so equal content hashes equal.
func (c RubricContent) Hash() string {
	b, err := json.Marshal(c)
	if err != nil {
		panic("observation: rubric content is not encodable: " + err.Error()) // only plain data types
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Rubric is a named rubric and a summary of its versions.
type Rubric struct {
	OwnerID         string // a district id, or NetworkOwner
	ID              string
	Title           Text
	LatestPublished int // 0 when no version has been published
	Versions        []VersionSummary
}

// VersionSummary is a version without its content.
type VersionSummary struct {
	Version     int
	Status      VersionStatus
	ContentHash string
	UpdatedAt   time.Time
}

// RubricVersion is one version of a rubric with its full content.
type RubricVersion struct {
	OwnerID     string
	RubricID    string
	Version     int
	Status      VersionStatus
	Content     RubricContent
	ContentHash string
	CreatedBy   string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	PublishedAt *time.Time
	RetiredAt   *time.Time
}

// ETag is the entity tag of the version as served in lang: the content hash qualified by the
// language, since one version has one representation per language.
func (v RubricVersion) ETag(lang string) string {
	return `"` + v.ContentHash + "." + lang + `"`
}

// acceptsRecords reports whether observations may be recorded against this version.
func (v RubricVersion) acceptsRecords() bool { return v.Status == StatusPublished }
