package observation

import (
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// supportedLanguages are the languages lookfor serves rubrics and messages in; the first is the
// default.
var supportedLanguages = []string{"en", "es"}

// Limits of rubric content.
const (
	maxRubricLevel         = 10   // MaxLevel may be at most this
	maxDimensions          = 40   // dimensions per rubric
	maxTallyCategories     = 60   // tally categories per rubric
	minParticipationOption = 2    // options of a participation field that is not district-defined
	maxParticipationOption = 20   // options of a participation field
	maxTextLength          = 2000 // characters (runes) per language of a Text
)

// Reason codes of rubric-content, id and language validation errors. They are stable: clients
// may switch on them.
const (
	ReasonRequired            = "REQUIRED"                   // a required value is missing or blank
	reasonDuplicateKey        = "DUPLICATE_KEY"              // a key repeats within its list
	reasonBadKey              = "BAD_KEY"                    // a key does not match ^[a-z][a-z0-9_]{0,62}$
	ReasonLevelOutOfRange     = "LEVEL_OUT_OF_RANGE"         // a level bound or descriptor level is out of range
	reasonDuplicateLevel      = "DUPLICATE_LEVEL"            // a dimension describes one level twice
	reasonMissingLevel        = "MISSING_LEVEL"              // a dimension does not describe some level
	reasonMissingTranslation  = "MISSING_TRANSLATION"        // a text lacks (or is blank in) a listed language
	reasonUnknownLanguage     = "UNKNOWN_LANGUAGE"           // a text has a language that is not listed
	ReasonTooLong             = "TOO_LONG"                   // a text is over maxTextLength characters
	ReasonInvalidUTF8         = "INVALID_UTF8"               // a text is not valid UTF-8
	reasonBadLanguage         = "BAD_LANGUAGE"               // a listed language is not a lowercase 2-3 letter tag
	reasonDuplicateLanguage   = "DUPLICATE_LANGUAGE"         // a language is listed twice
	reasonDefaultLanguage     = "DEFAULT_LANGUAGE_NOT_FIRST" // "en" is not the first listed language
	reasonBadCode             = "BAD_CODE"                   // the not-observed code is not ^[A-Z]{1,8}$
	reasonBadSpeaker          = "BAD_SPEAKER"                // a tally speaker is not teacher or student
	reasonBadMeasure          = "BAD_MEASURE"                // unknown measure, or a measure for the wrong speaker
	ReasonTooMany             = "TOO_MANY"                   // a list is over its limit
	reasonTooFew              = "TOO_FEW"                    // a participation field has fewer than 2 options
	reasonOptionsNotAllowed   = "OPTIONS_NOT_ALLOWED"        // a district-defined field lists options
	ReasonBadID               = "BAD_ID"                     // an id does not match the id pattern
	reasonReservedID          = "RESERVED_ID"                // a district id is reserved ("network")
	ReasonUnsupportedLanguage = "UNSUPPORTED_LANGUAGE"       // no requested language is supported
)

var (
	keyPattern  = regexp.MustCompile(`^[a-z][a-z0-9_]{0,62}$`)
	codePattern = regexp.MustCompile(`^[A-Z]{1,8}$`)
	idPattern   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
)

// ValidateRubricContent checks rubric content and returns nil or the first violation as an *Error
// of kind KindInvalid, whose Field is the JSON path of the offending value (for example
// "content.dimensions[2].levels[1].descriptor.es") and whose Reason is one of the Reason codes.
//
// The languages list is checked first, since every text is checked against it; then the fields
// are walked in declaration order, each list in index order, and each text in the order of the
// languages list (unlisted languages afterwards, sorted), so the error reported is deterministic.
//
// Required texts (titles, level descriptors, option labels, and the not-observed label when any
// dimension allows "not observed") must be present in every listed language. Optional texts
// (descriptions, level labels) may be empty, but when present they follow the same rules.
func ValidateRubricContent(c RubricContent) error {
	if err := validateRubricContent(&c); err != nil {
		return err
	}
	return nil
}

type rubricValidator struct {
	langs []string
}

func validateRubricContent(c *RubricContent) *Error {
	if err := validateLanguages("content.languages", c.Languages); err != nil {
		return err
	}
	v := rubricValidator{langs: c.Languages}
	if err := v.text("content.title", c.Title, true); err != nil {
		return err
	}
	if err := v.text("content.description", c.Description, false); err != nil {
		return err
	}
	if c.MinLevel < 1 || c.MinLevel >= maxRubricLevel {
		return Invalid("content.min_level", ReasonLevelOutOfRange,
			"min_level is %d; it must be between 1 and %d", c.MinLevel, maxRubricLevel-1)
	}
	if c.MaxLevel <= c.MinLevel || c.MaxLevel > maxRubricLevel {
		return Invalid("content.max_level", ReasonLevelOutOfRange,
			"max_level is %d; it must be above min_level (%d) and at most %d", c.MaxLevel, c.MinLevel, maxRubricLevel)
	}
	if c.ProficiencyLevel < c.MinLevel || c.ProficiencyLevel > c.MaxLevel {
		return Invalid("content.proficiency_level", ReasonLevelOutOfRange,
			"proficiency_level is %d; it must be between %d and %d", c.ProficiencyLevel, c.MinLevel, c.MaxLevel)
	}
	if err := v.notObserved(c); err != nil {
		return err
	}
	if err := v.dimensions(c); err != nil {
		return err
	}
	if err := v.tallies(c.TallyCategories); err != nil {
		return err
	}
	return v.participation(c.Participation)
}

func validateLanguages(path string, langs []string) *Error {
	if len(langs) == 0 {
		return Invalid(path, ReasonRequired, "at least one language is required, %q first", DefaultLanguage)
	}
	for i, l := range langs {
		p := path + "[" + strconv.Itoa(i) + "]"
		if !isLanguageTag(l) {
			return Invalid(p, reasonBadLanguage, "language %s is not a lowercase 2-3 letter tag", clip(l))
		}
		if i == 0 && l != DefaultLanguage {
			return Invalid(p, reasonDefaultLanguage, "the first language must be %q, not %q", DefaultLanguage, l)
		}
		if slices.Contains(langs[:i], l) {
			return Invalid(p, reasonDuplicateLanguage, "language %q is listed twice", l)
		}
	}
	return nil
}

func isLanguageTag(s string) bool {
	if len(s) < 2 || len(s) > 3 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 'a' || s[i] > 'z' {
			return false
		}
	}
	return true
}

// text checks one translated text at path.
func (v *rubricValidator) text(path string, t Text, required bool) *Error {
	if len(t) == 0 {
		if required {
			return Invalid(path, ReasonRequired, "a text in %s is required", strings.Join(v.langs, ", "))
		}
		return nil
	}
	for _, l := range v.langs {
		s, ok := t[l]
		p := path + "." + l
		if !ok || strings.TrimSpace(s) == "" {
			return Invalid(p, reasonMissingTranslation, "the %q text is missing or blank", l)
		}
		if !utf8.ValidString(s) {
			return Invalid(p, ReasonInvalidUTF8, "the %q text is not valid UTF-8", l)
		}
		if n := utf8.RuneCountInString(s); n > maxTextLength {
			return Invalid(p, ReasonTooLong, "the %q text has %d characters; at most %d are allowed", l, n, maxTextLength)
		}
	}
	if len(t) > len(v.langs) {
		extra := make([]string, 0, len(t)-len(v.langs))
		for l := range t {
			if !slices.Contains(v.langs, l) {
				extra = append(extra, l)
			}
		}
		sort.Strings(extra)
		l := extra[0]
		return Invalid(mapPath(path, l), reasonUnknownLanguage,
			"language %s is not one of the rubric's languages (%s)", clip(l), strings.Join(v.langs, ", "))
	}
	return nil
}

// mapPath names the entry k of the map at path: path.k for a plain key, path["k"] otherwise.
func mapPath(path, k string) string {
	plain := k != "" && len(k) <= 35
	for i := 0; plain && i < len(k); i++ {
		c := k[i]
		plain = c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_'
	}
	if plain {
		return path + "." + k
	}
	return path + "[" + clip(k) + "]"
}

// Clip quotes s for a message or path, shortened to at most 40 bytes: how every domain message
// shows a value the caller sent.
func Clip(s string) string { return clip(s) }

// clip is Clip.
func clip(s string) string {
	if len(s) > 40 {
		s = s[:40] + "…"
	}
	return strconv.Quote(s)
}

// checkKey checks a list entry's key at path; seen holds the keys before it in the list.
func checkKey(path, k string, seen map[string]bool) *Error {
	switch {
	case k == "":
		return Invalid(path, ReasonRequired, "a key is required")
	case !keyPattern.MatchString(k):
		return Invalid(path, reasonBadKey, "key %s must match %s", clip(k), keyPattern)
	case seen[k]:
		return Invalid(path, reasonDuplicateKey, "key %q is used twice", k)
	}
	seen[k] = true
	return nil
}

func (v *rubricValidator) notObserved(c *RubricContent) *Error {
	no := c.NotObserved
	required := slices.ContainsFunc(c.Dimensions, func(d Dimension) bool { return d.AllowNotObserved })
	const p = "content.not_observed"
	switch {
	case no.Code == "" && required:
		return Invalid(p+".code", ReasonRequired, "a not-observed code is required when a dimension allows it")
	case no.Code != "" && !codePattern.MatchString(no.Code):
		return Invalid(p+".code", reasonBadCode, "code %s must be 1 to 8 capital letters", clip(no.Code))
	}
	if err := v.text(p+".label", no.Label, required || no.Code != ""); err != nil {
		return err
	}
	return v.text(p+".description", no.Description, false)
}

func (v *rubricValidator) dimensions(c *RubricContent) *Error {
	const p = "content.dimensions"
	switch {
	case len(c.Dimensions) == 0:
		return Invalid(p, ReasonRequired, "at least one dimension is required")
	case len(c.Dimensions) > maxDimensions:
		return Invalid(p, ReasonTooMany, "%d dimensions; at most %d are allowed", len(c.Dimensions), maxDimensions)
	}
	seen := make(map[string]bool, len(c.Dimensions))
	for i, d := range c.Dimensions {
		dp := p + "[" + strconv.Itoa(i) + "]"
		if err := checkKey(dp+".key", d.Key, seen); err != nil {
			return err
		}
		if err := v.text(dp+".title", d.Title, true); err != nil {
			return err
		}
		if err := v.text(dp+".description", d.Description, false); err != nil {
			return err
		}
		if err := v.levels(dp+".levels", d.Levels, c.MinLevel, c.MaxLevel); err != nil {
			return err
		}
	}
	return nil
}

// levels checks that a dimension has exactly one descriptor for each level lo..hi.
func (v *rubricValidator) levels(path string, ls []LevelDescriptor, lo, hi int) *Error {
	described := make([]bool, hi-lo+1)
	for j, l := range ls {
		lp := path + "[" + strconv.Itoa(j) + "]"
		if l.Level < lo || l.Level > hi {
			return Invalid(lp+".level", ReasonLevelOutOfRange, "level %d is outside %d..%d", l.Level, lo, hi)
		}
		if described[l.Level-lo] {
			return Invalid(lp+".level", reasonDuplicateLevel, "level %d is described twice", l.Level)
		}
		described[l.Level-lo] = true
		if err := v.text(lp+".label", l.Label, false); err != nil {
			return err
		}
		if err := v.text(lp+".descriptor", l.Descriptor, true); err != nil {
			return err
		}
	}
	for k, ok := range described {
		if !ok {
			return Invalid(path, reasonMissingLevel, "level %d has no descriptor", lo+k)
		}
	}
	return nil
}

func (v *rubricValidator) tallies(ts []TallyCategory) *Error {
	const p = "content.tally_categories"
	if len(ts) > maxTallyCategories {
		return Invalid(p, ReasonTooMany, "%d tally categories; at most %d are allowed", len(ts), maxTallyCategories)
	}
	seen := make(map[string]bool, len(ts))
	for i, t := range ts {
		tp := p + "[" + strconv.Itoa(i) + "]"
		if err := checkKey(tp+".key", t.Key, seen); err != nil {
			return err
		}
		if t.Speaker != SpeakerTeacher && t.Speaker != SpeakerStudent {
			return Invalid(tp+".speaker", reasonBadSpeaker, "speaker %s must be %q or %q", clip(string(t.Speaker)), SpeakerTeacher, SpeakerStudent)
		}
		if err := v.text(tp+".title", t.Title, true); err != nil {
			return err
		}
		if err := v.text(tp+".description", t.Description, false); err != nil {
			return err
		}
		switch {
		case t.Measure == MeasureNone:
		case t.Measure == MeasurePress && t.Speaker == SpeakerTeacher:
		case t.Measure == MeasureReasoning && t.Speaker == SpeakerStudent:
		case t.Measure == MeasurePress || t.Measure == MeasureReasoning:
			return Invalid(tp+".measure", reasonBadMeasure, "measure %q does not apply to %s moves", t.Measure, t.Speaker)
		default:
			return Invalid(tp+".measure", reasonBadMeasure, "measure %s must be empty, %q or %q", clip(string(t.Measure)), MeasurePress, MeasureReasoning)
		}
	}
	return nil
}

func (v *rubricValidator) participation(fs []ParticipationField) *Error {
	const p = "content.participation_fields"
	seen := make(map[string]bool, len(fs))
	for i, f := range fs {
		fp := p + "[" + strconv.Itoa(i) + "]"
		if err := checkKey(fp+".key", f.Key, seen); err != nil {
			return err
		}
		if err := v.text(fp+".title", f.Title, true); err != nil {
			return err
		}
		if err := v.text(fp+".description", f.Description, false); err != nil {
			return err
		}
		op := fp + ".options"
		switch {
		case f.DistrictDefined && len(f.Options) > 0:
			return Invalid(op, reasonOptionsNotAllowed, "a district-defined field takes the district's student groups and lists no options")
		case f.DistrictDefined:
			continue
		case len(f.Options) < minParticipationOption:
			return Invalid(op, reasonTooFew, "%d options; at least %d are required", len(f.Options), minParticipationOption)
		case len(f.Options) > maxParticipationOption:
			return Invalid(op, ReasonTooMany, "%d options; at most %d are allowed", len(f.Options), maxParticipationOption)
		}
		optSeen := make(map[string]bool, len(f.Options))
		for j, o := range f.Options {
			oj := op + "[" + strconv.Itoa(j) + "]"
			if err := checkKey(oj+".key", o.Key, optSeen); err != nil {
				return err
			}
			if err := v.text(oj+".label", o.Label, true); err != nil {
				return err
			}
		}
	}
	return nil
}

// ValidateID checks the id of a district, site, classroom, staff member or rubric: 1 to 128
// characters, letters, digits and . _ : -, starting with a letter or digit. Field names the input
// field in the error. It does not reject reserved ids; see ValidateDistrictID.
func ValidateID(field, id string) error {
	switch {
	case id == "":
		return Invalid(field, ReasonRequired, "an id is required")
	case !isID(id):
		return Invalid(field, ReasonBadID,
			"id %s must be 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit", clip(id))
	}
	return nil
}

// isID reports whether id matches idPattern, without the regular expression machinery: ids are
// checked several times per record of every push.
func isID(id string) bool {
	if len(id) == 0 || len(id) > 128 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case i > 0 && (c == '.' || c == '_' || c == ':' || c == '-'):
		default:
			return false
		}
	}
	return true
}

// ValidateDistrictID checks a district id: ValidateID, and not the reserved NetworkOwner id
// ("network", in any letter case), which names network-wide resources.
func ValidateDistrictID(field, id string) error {
	if err := ValidateID(field, id); err != nil {
		return err
	}
	if strings.EqualFold(id, NetworkOwner) {
		return Invalid(field, reasonReservedID, "%q is reserved and cannot be a district id", id)
	}
	return nil
}

// NormalizeLanguage maps a language tag or an Accept-Language header value to one of the
// supportedLanguages: "" → "en"; "es", "ES", "es-MX", "es_419" → "es"; "es-MX,es;q=0.9,en;q=0.8" →
// "es" (entries by descending q, ties in order; q=0 entries are refused; "*" means the default
// language). Malformed entries are skipped. When no entry names a supported language the error is
// an *Error with field "language" and reason UNSUPPORTED_LANGUAGE.
func NormalizeLanguage(tag string) (string, error) {
	type entry struct {
		lang string
		q    float64
	}
	var entries []entry
	for item := range strings.SplitSeq(tag, ",") {
		name, params, _ := strings.Cut(item, ";")
		name = strings.TrimSpace(name)
		if name == "" {
			continue
		}
		q, ok := qValue(params)
		if !ok || q == 0 {
			entries = append(entries, entry{lang: "", q: -1}) // counts as a request, matches nothing
			continue
		}
		if name == "*" {
			entries = append(entries, entry{lang: supportedLanguages[0], q: q})
			continue
		}
		primary, _, _ := strings.Cut(strings.ReplaceAll(name, "_", "-"), "-")
		entries = append(entries, entry{lang: strings.ToLower(primary), q: q})
	}
	if len(entries) == 0 {
		return supportedLanguages[0], nil
	}
	sort.SliceStable(entries, func(i, j int) bool { return entries[i].q > entries[j].q })
	for _, e := range entries {
		if e.q > 0 && slices.Contains(supportedLanguages, e.lang) {
			return e.lang, nil
		}
	}
	return "", Invalid("language", ReasonUnsupportedLanguage,
		"none of the requested languages %s is supported (%s)", clip(tag), strings.Join(supportedLanguages, ", "))
}

// qValue parses the parameters after a language range ("q=0.8"); no q means 1.
func qValue(params string) (float64, bool) {
	q := 1.0
	for p := range strings.SplitSeq(params, ";") {
		p = strings.TrimSpace(p)
		if p == "" {
			continue
		}
		k, val, ok := strings.Cut(p, "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(k), "q") {
			continue // other parameters are ignored
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(val), 64)
		if err != nil || f < 0 || f > 1 || f != f {
			return 0, false
		}
		q = f
	}
	return q, true
}
