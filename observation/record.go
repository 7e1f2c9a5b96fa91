package observation

import (
	"crypto/sha256"
	"encoding/hex"
	"time"
)

// Kind of observation.
type ObservationKind string

const (
	KindWalkthrough ObservationKind = "walkthrough"
	KindInformal    ObservationKind = "informal"
	KindFormal      ObservationKind = "formal"
	KindCalibration ObservationKind = "calibration" // a co-observation used to calibrate observers
)

// ObservationKinds lists every kind in a stable order.
var ObservationKinds = []ObservationKind{KindWalkthrough, KindInformal, KindFormal, KindCalibration}

// RecordStatus is an observation's lifecycle state.
type RecordStatus string

const (
	RecordDraft     RecordStatus = "draft"     // being recorded; merges field by field
	RecordSubmitted RecordStatus = "submitted" // immutable; changed only by an amendment revision
)

// Score is one dimension's rating. NotObserved excludes it from means; Level is then 0.
type Score struct {
	Dimension   string `json:"dimension"`
	Level       int    `json:"level,omitempty"`
	NotObserved bool   `json:"not_observed,omitempty"`
	Evidence    string `json:"evidence,omitempty"` // the observer's evidence notes for this dimension
}

// Tally is a count of one talk-move category during the observed discussion minutes.
type Tally struct {
	Category string `json:"category"`
	Count    int    `json:"count"`
}

// ParticipationCount is the number of contributions coded with one option of one participation
// field, aggregated on the tablet (e.g. field "selection", option "volunteered", count 7).
// For the district-defined student_group field, Option is a student-group key.
type ParticipationCount struct {
	Field  string `json:"field"`
	Option string `json:"option"`
	Count  int    `json:"count"`
}

// Enrolment is how many students of one district-defined group were present; never names.
type Enrolment struct {
	Group string `json:"group"`
	Count int    `json:"count"`
}

// Record is what the tablet records about one observed lesson. It is the content the content
// hash covers (docs/sync-protocol.md "Content hash"); the server's bookkeeping lives in
// StoredObservation.
type Record struct {
	ID            string               `json:"id"` // UUIDv7, generated on the tablet
	DistrictID    string               `json:"district_id"`
	SiteID        string               `json:"site_id"`
	ClassroomID   string               `json:"classroom_id"`
	Course        string               `json:"course,omitempty"`
	Grade         string               `json:"grade,omitempty"`
	Section       string               `json:"section,omitempty"`
	TeacherID     string               `json:"teacher_id"` // roster reference
	ObserverID    string               `json:"observer_id"`
	ObserverRole  Role                 `json:"observer_role"`
	Kind          ObservationKind      `json:"kind"`
	CoObservation string               `json:"co_observation,omitempty"` // shared key of a calibration co-observation
	RubricID      string               `json:"rubric_id"`
	RubricVersion int                  `json:"rubric_version"`
	Language      string               `json:"language,omitempty"` // the language the observer used
	StartedAt     time.Time            `json:"started_at"`         // device clock, kept as recorded
	DurationMin   int                  `json:"duration_minutes"`
	DiscussionMin int                  `json:"discussion_minutes"`
	LessonFocus   string               `json:"lesson_focus,omitempty"`
	Scores        []Score              `json:"scores,omitempty"`
	Tallies       []Tally              `json:"tallies,omitempty"`
	Participation []ParticipationCount `json:"participation,omitempty"`
	Enrolment     []Enrolment          `json:"enrolment,omitempty"`
	NextSteps     string               `json:"next_steps,omitempty"`
	Status        RecordStatus         `json:"status"`
	RecordedAt    time.Time            `json:"recorded_at"` // device clock of the last edit, kept as recorded
}

// Hash is the record's content hash: hex SHA-256 of its canonical JSON. The tablet and the
// server compute it the same way, so equal hashes mean equal content.
func (r Record) Hash() string {
	_, h := r.Canonical()
	return h
}

// Canonical returns the record's canonical JSON (device times in UTC) and its hash: what the
// server stores and what the hash covers, encoded once.
func (r Record) Canonical() ([]byte, string) {
	r.StartedAt, r.RecordedAt = r.StartedAt.UTC(), r.RecordedAt.UTC()
	b, err := r.AppendJSON(make([]byte, 0, r.JSONSizeHint()))
	if err != nil {
		panic("observation: record is not encodable: " + err.Error())
	}
	sum := sha256.Sum256(b)
	return b, hex.EncodeToString(sum[:])
}

// JSONSizeHint is a capacity for a buffer that AppendJSON fills with r without growing it
// (unless its texts need escaping): its texts, and room for the names and numbers of its fields
// and of each element of its lists.
func (r *Record) JSONSizeHint() int {
	n := 1024 + len(r.LessonFocus) + len(r.NextSteps) + scoreTexts(r.Scores)
	for _, t := range r.Tallies {
		n += 40 + len(t.Category)
	}
	for _, p := range r.Participation {
		n += 48 + len(p.Field) + len(p.Option)
	}
	for _, e := range r.Enrolment {
		n += 40 + len(e.Group)
	}
	return n
}

// scoreTexts is the length of the scores' evidence texts.
func scoreTexts(scores []Score) int {
	n := 0
	for _, s := range scores {
		n += len(s.Evidence) + len(s.Dimension) + 64
	}
	return n
}

// StoredObservation is a record as the server holds it.
type StoredObservation struct {
	Record
	Revision    int       // 1 for the first stored version; +1 per accepted change
	ContentHash string    // Record.Hash() of this revision
	Deleted     bool      // a tombstone
	UpdatedBy   string    // user whose change produced this revision
	DeviceID    string    // device that sent it
	CommittedAt time.Time // server clock at commit; server commit order, never device clocks
	// SubmittedAt is the server clock (to the microsecond) of the commit that first stored the
	// record as submitted; zero while it has never been submitted. Later revisions (amendments,
	// a deletion, a conflict resolution) keep it. Of a co-observation group, the counted record
	// submitted first counts in every view but calibration (progress.FirstOfGroup).
	SubmittedAt time.Time
	// Content is the canonical JSON of Record when the server has just encoded it (to hash
	// it); storage reuses it instead of encoding again. Empty otherwise.
	Content []byte `json:"-"`
}

// StampSubmitted sets o.SubmittedAt for a revision that replaces prev (nil for a new record),
// committed at now: prev's first submission when it had one, else now if o is submitted, else
// none. The time is cut to the microsecond, as the database keeps it, so that what a write
// computes with equals what later reads return.
func (o *StoredObservation) StampSubmitted(prev *StoredObservation, now time.Time) {
	switch {
	case prev != nil && !prev.SubmittedAt.IsZero():
		o.SubmittedAt = prev.SubmittedAt
	case o.Status == RecordSubmitted:
		o.SubmittedAt = now.UTC().Truncate(time.Microsecond)
	default:
		o.SubmittedAt = time.Time{}
	}
}
