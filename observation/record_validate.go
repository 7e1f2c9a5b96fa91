package observation

import (
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits of observation records.
const (
	maxEvidenceLength    = 4000  // characters (runes) of one score's evidence notes
	maxLessonFocusLength = 500   // characters of the lesson focus
	maxNextStepsLength   = 4000  // characters of the next steps
	maxRecordLabelLength = 200   // characters of course, grade, section and language
	minDurationMinutes   = 1     // shortest observed lesson
	maxDurationMinutes   = 600   // longest observed lesson
	MaxRecordCount       = 10000 // largest tally, participation or enrolment count
	defaultMaxClockSkew  = 24 * time.Hour
)

// EarliestRecordTime is the earliest start or edit time a record may carry; anything before it
// is a device with a reset clock.
var EarliestRecordTime = time.Date(2000, 1, 1, 0, 0, 0, 0, time.UTC)

// Reason codes of record validation errors, in addition to ReasonRequired, ReasonTooLong,
// ReasonInvalidUTF8, ReasonBadID and ReasonLevelOutOfRange, which keep their meaning. They are
// stable: clients may switch on them. The codes shared with the sync protocol
// (OUT_OF_SCOPE, UNKNOWN_RUBRIC, RETIRED_RUBRIC, DRAFT_RUBRIC, FUTURE_TIMESTAMP) are string-equal
// to sync's Reason constants.
const (
	recordReasonOutOfScope                = "OUT_OF_SCOPE"                // the classroom or site is not in the caller's scope (checked by the caller)
	recordReasonUnknownClassroom          = "UNKNOWN_CLASSROOM"           // the classroom is not on the roster
	recordReasonClassroomMismatch         = "CLASSROOM_MISMATCH"          // the record's district/site/classroom is not the roster's
	recordReasonTeacherMismatch           = "TEACHER_MISMATCH"            // the teacher is not the classroom's teacher
	recordReasonBadRole                   = "BAD_ROLE"                    // the observer role cannot record observations
	recordReasonBadKind                   = "BAD_KIND"                    // not one of ObservationKinds
	recordReasonCoObservation             = "CO_OBSERVATION"              // co_observation missing on a calibration, or set on another kind
	recordReasonUnknownRubric             = "UNKNOWN_RUBRIC"              // the rubric id or version is not the one validated against
	recordReasonRetiredRubric             = "RETIRED_RUBRIC"              // the rubric version no longer accepts records
	recordReasonDraftRubric               = "DRAFT_RUBRIC"                // the rubric version is not published
	RecordReasonFutureTimestamp           = "FUTURE_TIMESTAMP"            // a device time is after the server clock plus the allowed skew
	RecordReasonBadTimestamp              = "BAD_TIMESTAMP"               // a device time is before EarliestRecordTime
	recordReasonOutOfRange                = "OUT_OF_RANGE"                // a number is outside its allowed range
	recordReasonNegative                  = "NEGATIVE"                    // a minute count or count is negative
	recordReasonDiscussionExceedsDuration = "DISCUSSION_EXCEEDS_DURATION" // discussion minutes > duration
	recordReasonBadStatus                 = "BAD_STATUS"                  // status is not draft or submitted
	RecordReasonUnknownDimension          = "UNKNOWN_DIMENSION"           // a score names a dimension the rubric lacks
	recordReasonDuplicateDimension        = "DUPLICATE_DIMENSION"         // a dimension is scored twice
	recordReasonNotObservedNotAllowed     = "NOT_OBSERVED_NOT_ALLOWED"    // "not observed" on a dimension that does not allow it
	recordReasonLevelWithNotObserved      = "LEVEL_WITH_NOT_OBSERVED"     // a level given together with "not observed"
	recordReasonMissingScore              = "MISSING_SCORE"               // a submitted record leaves a dimension unscored
	recordReasonUnknownTallyCategory      = "UNKNOWN_TALLY_CATEGORY"      // a tally names a category the rubric lacks
	recordReasonDuplicateTally            = "DUPLICATE_TALLY"             // a category is tallied twice
	recordReasonUnknownParticipationField = "UNKNOWN_PARTICIPATION_FIELD" // a participation count names a field the rubric lacks
	recordReasonUnknownOption             = "UNKNOWN_OPTION"              // an option that is not the field's (or not a district student group)
	recordReasonDuplicateParticipation    = "DUPLICATE_PARTICIPATION"     // a (field, option) pair is counted twice
	recordReasonUnknownGroup              = "UNKNOWN_GROUP"               // enrolment of a group that is not a district student group
	recordReasonDuplicateGroup            = "DUPLICATE_GROUP"             // a group's enrolment is given twice
)

// RecordContext is what ValidateRecord needs to know beyond the record and its rubric version.
type RecordContext struct {
	Classroom     *Classroom     // the roster's classroom named by the record; nil: unknown classroom
	StudentGroups []StudentGroup // the district's student groups
	Now           time.Time      // server clock; zero means time.Now()
	MaxClockSkew  time.Duration  // how far device times may run ahead of Now; 0 means defaultMaxClockSkew
}

// recordingRoles are the roles that may record observations.
var recordingRoles = []Role{RoleCoach, RolePrincipal, RoleDistrictAdmin, RoleAdmin}

// IsUUID reports whether s is a UUID in canonical form: 36 characters, lowercase hexadecimal
// digits in groups of 8-4-4-4-12 separated by hyphens. Any version and variant is accepted.
func IsUUID(s string) bool {
	if len(s) != 36 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch i {
		case 8, 13, 18, 23:
			if c != '-' {
				return false
			}
		default:
			if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
				return false
			}
		}
	}
	return true
}

// IsUUIDv7 reports whether s is a canonical UUID of version 7 (time-ordered) and the RFC 9562
// variant: the ids tablets generate for new records.
func IsUUIDv7(s string) bool {
	return IsUUID(s) && s[14] == '7' && strings.IndexByte("89ab", s[19]) >= 0
}

const nilUUID = "00000000-0000-0000-0000-000000000000"

// ValidateRecord checks an observation record against the rubric version it names and the
// roster, and returns nil or the first violation as an *Error of kind KindInvalid whose Field is
// the JSON path of the offending value (for example "record.scores[2].level") and whose Reason
// is one of the record reason codes above or ReasonRequired, ReasonBadID, ReasonTooLong,
// ReasonInvalidUTF8, ReasonLevelOutOfRange.
//
// Fields are checked in the order Record declares them, lists in index order, so the error
// reported is deterministic. A draft may score only some dimensions; a submitted record must
// score every one (a level or "not observed"). ValidateRecord does not check the caller's scope:
// that is the caller's job (recordReasonOutOfScope).
func ValidateRecord(r Record, rv RubricVersion, c RecordContext) error {
	if err := validateRecord(&r, &rv, &c); err != nil {
		return err
	}
	return nil
}

func validateRecord(r *Record, rv *RubricVersion, c *RecordContext) *Error {
	now := c.Now
	if now.IsZero() {
		now = time.Now()
	}
	skew := c.MaxClockSkew
	if skew == 0 {
		skew = defaultMaxClockSkew
	}
	latest := now.Add(skew)

	switch {
	case r.ID == "":
		return Invalid("record.id", ReasonRequired, "an id is required")
	case !IsUUID(r.ID):
		return Invalid("record.id", ReasonBadID, "id %s must be a lowercase UUID (8-4-4-4-12 hex digits)", clip(r.ID))
	case r.ID == nilUUID:
		return Invalid("record.id", ReasonBadID, "id must not be the nil UUID")
	}
	for _, f := range []struct{ path, id string }{
		{"record.district_id", r.DistrictID},
		{"record.site_id", r.SiteID},
		{"record.classroom_id", r.ClassroomID},
	} {
		if err := ValidateID(f.path, f.id); err != nil {
			return err.(*Error)
		}
	}
	cl := c.Classroom
	switch {
	case cl == nil:
		return Invalid("record.classroom_id", recordReasonUnknownClassroom, "classroom %q is not on the roster", r.ClassroomID)
	case cl.ID != r.ClassroomID:
		return Invalid("record.classroom_id", recordReasonClassroomMismatch, "classroom %q is not the roster's classroom %s", r.ClassroomID, clip(cl.ID))
	case cl.DistrictID != r.DistrictID:
		return Invalid("record.district_id", recordReasonClassroomMismatch, "classroom %q belongs to district %s, not %q", r.ClassroomID, clip(cl.DistrictID), r.DistrictID)
	case cl.SiteID != r.SiteID:
		return Invalid("record.site_id", recordReasonClassroomMismatch, "classroom %q belongs to site %s, not %q", r.ClassroomID, clip(cl.SiteID), r.SiteID)
	}
	for _, f := range []struct{ path, s string }{
		{"record.course", r.Course},
		{"record.grade", r.Grade},
		{"record.section", r.Section},
	} {
		if err := checkText(f.path, f.s, maxRecordLabelLength); err != nil {
			return err
		}
	}
	if err := ValidateID("record.teacher_id", r.TeacherID); err != nil {
		return err.(*Error)
	}
	if cl.TeacherID != "" && cl.TeacherID != r.TeacherID {
		return Invalid("record.teacher_id", recordReasonTeacherMismatch, "teacher %q is not the teacher of classroom %q", r.TeacherID, r.ClassroomID)
	}
	if err := ValidateID("record.observer_id", r.ObserverID); err != nil {
		return err.(*Error)
	}
	if err := checkEnum("record.observer_role", string(r.ObserverRole), recordReasonBadRole, recordingRoles); err != nil {
		return err
	}
	if err := checkEnum("record.kind", string(r.Kind), recordReasonBadKind, ObservationKinds); err != nil {
		return err
	}
	switch {
	case r.Kind == KindCalibration && r.CoObservation == "":
		return Invalid("record.co_observation", recordReasonCoObservation, "a calibration observation needs the co-observation key it shares with the other observer")
	case r.Kind != KindCalibration && r.CoObservation != "":
		return Invalid("record.co_observation", recordReasonCoObservation, "only a calibration observation has a co-observation key")
	case r.CoObservation != "" && !isID(r.CoObservation):
		return Invalid("record.co_observation", ReasonBadID, "co-observation key %s must be 1 to 128 letters, digits, '.', '_', ':' or '-', starting with a letter or digit", clip(r.CoObservation))
	}
	if err := checkRubric(r, rv); err != nil {
		return err
	}
	if err := checkText("record.language", r.Language, maxRecordLabelLength); err != nil {
		return err
	}
	if err := checkTime("record.started_at", r.StartedAt, latest); err != nil {
		return err
	}
	switch {
	case r.DurationMin < minDurationMinutes || r.DurationMin > maxDurationMinutes:
		return Invalid("record.duration_minutes", recordReasonOutOfRange, "duration %d is outside %d..%d minutes", r.DurationMin, minDurationMinutes, maxDurationMinutes)
	case r.DiscussionMin < 0:
		return Invalid("record.discussion_minutes", recordReasonNegative, "discussion minutes %d are negative", r.DiscussionMin)
	case r.DiscussionMin > r.DurationMin:
		return Invalid("record.discussion_minutes", recordReasonDiscussionExceedsDuration, "%d discussion minutes exceed the %d-minute duration", r.DiscussionMin, r.DurationMin)
	}
	if err := checkText("record.lesson_focus", r.LessonFocus, maxLessonFocusLength); err != nil {
		return err
	}
	if err := checkScores(r, &rv.Content); err != nil {
		return err
	}
	if err := checkTallies(r.Tallies, rv.Content.TallyCategories); err != nil {
		return err
	}
	groups := make(map[string]bool, len(c.StudentGroups))
	for _, g := range c.StudentGroups {
		groups[g.Key] = true
	}
	if err := checkParticipation(r.Participation, rv.Content.Participation, groups); err != nil {
		return err
	}
	if err := checkEnrolment(r.Enrolment, groups); err != nil {
		return err
	}
	if err := checkText("record.next_steps", r.NextSteps, maxNextStepsLength); err != nil {
		return err
	}
	if err := checkEnum("record.status", string(r.Status), recordReasonBadStatus, []RecordStatus{RecordDraft, RecordSubmitted}); err != nil {
		return err
	}
	return checkTime("record.recorded_at", r.RecordedAt, latest)
}

// checkEnum checks that s is one of allowed; empty is REQUIRED, anything else is reason.
func checkEnum[T ~string](path, s, reason string, allowed []T) *Error {
	if s == "" {
		return Invalid(path, ReasonRequired, "a value is required")
	}
	for _, a := range allowed {
		if string(a) == s {
			return nil
		}
	}
	return Invalid(path, reason, "%s is not one of %v", clip(s), allowed)
}

// CheckText checks an optional free text at path: valid UTF-8 without NUL characters (which
// PostgreSQL cannot store), at most max characters. The roster, settings and goal use-cases
// check their texts with it too.
func CheckText(path, s string, max int) *Error { return checkText(path, s, max) }

// checkText checks an optional free text: valid UTF-8 without NUL characters (which PostgreSQL
// cannot store), at most max characters.
func checkText(path, s string, max int) *Error {
	if !utf8.ValidString(s) {
		return Invalid(path, ReasonInvalidUTF8, "the text is not valid UTF-8")
	}
	if strings.IndexByte(s, 0) >= 0 {
		return Invalid(path, ReasonInvalidUTF8, "the text contains a NUL character, which cannot be stored")
	}
	if len(s) > max { // bytes ≥ runes: count runes only when it may matter
		if n := utf8.RuneCountInString(s); n > max {
			return Invalid(path, ReasonTooLong, "the text has %d characters; at most %d are allowed", n, max)
		}
	}
	return nil
}

// checkTime checks a device time: set, not before EarliestRecordTime, not after latest.
func checkTime(path string, t, latest time.Time) *Error {
	switch {
	case t.IsZero():
		return Invalid(path, ReasonRequired, "a time is required")
	case t.Before(EarliestRecordTime):
		return Invalid(path, RecordReasonBadTimestamp, "time %s is before %s", t.Format(time.RFC3339), EarliestRecordTime.Format(time.RFC3339))
	case t.After(latest):
		return Invalid(path, RecordReasonFutureTimestamp, "time %s is in the future (server clock allows up to %s)", t.Format(time.RFC3339), latest.UTC().Format(time.RFC3339))
	}
	return nil
}

func checkRubric(r *Record, rv *RubricVersion) *Error {
	switch {
	case r.RubricID == "":
		return Invalid("record.rubric_id", ReasonRequired, "a rubric id is required")
	case r.RubricID != rv.RubricID:
		return Invalid("record.rubric_id", recordReasonUnknownRubric, "rubric %s is unknown", clip(r.RubricID))
	case r.RubricVersion != rv.Version:
		return Invalid("record.rubric_version", recordReasonUnknownRubric, "rubric %q has no version %d", r.RubricID, r.RubricVersion)
	}
	switch rv.Status {
	case StatusPublished:
		return nil
	case StatusDraft:
		return Invalid("record.rubric_version", recordReasonDraftRubric, "rubric %q version %d is a draft and does not accept records yet", r.RubricID, r.RubricVersion)
	case StatusRetired:
		return Invalid("record.rubric_version", recordReasonRetiredRubric, "rubric %q version %d is retired and no longer accepts records", r.RubricID, r.RubricVersion)
	}
	return Invalid("record.rubric_version", recordReasonUnknownRubric, "rubric %q version %d has no usable status", r.RubricID, r.RubricVersion)
}

func checkScores(r *Record, c *RubricContent) *Error {
	dims := make(map[string]*Dimension, len(c.Dimensions))
	for i := range c.Dimensions {
		dims[c.Dimensions[i].Key] = &c.Dimensions[i]
	}
	scored := make(map[string]bool, len(r.Scores))
	for i, s := range r.Scores {
		p := "record.scores[" + strconv.Itoa(i) + "]"
		d := dims[s.Dimension]
		switch {
		case s.Dimension == "":
			return Invalid(p+".dimension", ReasonRequired, "a dimension is required")
		case d == nil:
			return Invalid(p+".dimension", RecordReasonUnknownDimension, "dimension %s is not in the rubric", clip(s.Dimension))
		case scored[s.Dimension]:
			return Invalid(p+".dimension", recordReasonDuplicateDimension, "dimension %q is scored twice", s.Dimension)
		}
		scored[s.Dimension] = true
		switch {
		case s.NotObserved && !d.AllowNotObserved:
			return Invalid(p+".not_observed", recordReasonNotObservedNotAllowed, "dimension %q cannot be scored as not observed", s.Dimension)
		case s.NotObserved && s.Level != 0:
			return Invalid(p+".level", recordReasonLevelWithNotObserved, "a not-observed score has no level, got %d", s.Level)
		case !s.NotObserved && (s.Level < c.MinLevel || s.Level > c.MaxLevel):
			return Invalid(p+".level", ReasonLevelOutOfRange, "level %d is outside %d..%d", s.Level, c.MinLevel, c.MaxLevel)
		}
		if err := checkText(p+".evidence", s.Evidence, maxEvidenceLength); err != nil {
			return err
		}
	}
	if r.Status == RecordSubmitted {
		for _, d := range c.Dimensions {
			if !scored[d.Key] {
				return Invalid("record.scores", recordReasonMissingScore, "a submitted observation must score dimension %q (a level or not observed)", d.Key)
			}
		}
	}
	return nil
}

// countOK reports whether checkCount accepts n.
func countOK(n int) bool { return 0 <= n && n <= MaxRecordCount }

// checkCount checks a count at path: 0..MaxRecordCount.
func checkCount(path string, n int) *Error {
	switch {
	case n < 0:
		return Invalid(path, recordReasonNegative, "count %d is negative", n)
	case n > MaxRecordCount:
		return Invalid(path, recordReasonOutOfRange, "count %d is over %d", n, MaxRecordCount)
	}
	return nil
}

// checkTallies and checkParticipation run for every element of every pushed record: they scan
// the rubric's handful of categories and fields and the elements before instead of building maps,
// and put a path together only for an error.
func checkTallies(ts []Tally, cats []TallyCategory) *Error {
	for i, t := range ts {
		p := func() string { return "record.tallies[" + strconv.Itoa(i) + "]" }
		switch {
		case t.Category == "":
			return Invalid(p()+".category", ReasonRequired, "a category is required")
		case !slices.ContainsFunc(cats, func(c TallyCategory) bool { return c.Key == t.Category }):
			return Invalid(p()+".category", recordReasonUnknownTallyCategory, "category %s is not in the rubric", clip(t.Category))
		case slices.ContainsFunc(ts[:i], func(o Tally) bool { return o.Category == t.Category }):
			return Invalid(p()+".category", recordReasonDuplicateTally, "category %q is tallied twice", t.Category)
		}
		if !countOK(t.Count) {
			return checkCount(p()+".count", t.Count)
		}
	}
	return nil
}

func checkParticipation(ps []ParticipationCount, fields []ParticipationField, groups map[string]bool) *Error {
	for i, pc := range ps {
		p := func() string { return "record.participation[" + strconv.Itoa(i) + "]" }
		var f *ParticipationField
		for j := range fields { // the last field of the key, as a map filled in order kept it
			if fields[j].Key == pc.Field {
				f = &fields[j]
			}
		}
		switch {
		case pc.Field == "":
			return Invalid(p()+".field", ReasonRequired, "a participation field is required")
		case f == nil:
			return Invalid(p()+".field", recordReasonUnknownParticipationField, "participation field %s is not in the rubric", clip(pc.Field))
		case pc.Option == "":
			return Invalid(p()+".option", ReasonRequired, "an option is required")
		case !hasOption(f, pc.Option, groups):
			if f.DistrictDefined {
				return Invalid(p()+".option", recordReasonUnknownOption, "%s is not one of the district's student groups", clip(pc.Option))
			}
			return Invalid(p()+".option", recordReasonUnknownOption, "%s is not an option of field %q", clip(pc.Option), pc.Field)
		case slices.ContainsFunc(ps[:i], func(o ParticipationCount) bool { return o.Field == pc.Field && o.Option == pc.Option }):
			return Invalid(p()+".option", recordReasonDuplicateParticipation, "option %q of field %q is counted twice", pc.Option, pc.Field)
		}
		if !countOK(pc.Count) {
			return checkCount(p()+".count", pc.Count)
		}
	}
	return nil
}

func hasOption(f *ParticipationField, option string, groups map[string]bool) bool {
	if f.DistrictDefined {
		return groups[option]
	}
	for _, o := range f.Options {
		if o.Key == option {
			return true
		}
	}
	return false
}

func checkEnrolment(es []Enrolment, groups map[string]bool) *Error {
	seen := make(map[string]bool, len(es))
	for i, e := range es {
		p := "record.enrolment[" + strconv.Itoa(i) + "]"
		switch {
		case e.Group == "":
			return Invalid(p+".group", ReasonRequired, "a student group is required")
		case !groups[e.Group]:
			return Invalid(p+".group", recordReasonUnknownGroup, "%s is not one of the district's student groups", clip(e.Group))
		case seen[e.Group]:
			return Invalid(p+".group", recordReasonDuplicateGroup, "the enrolment of group %q is given twice", e.Group)
		}
		seen[e.Group] = true
		if err := checkCount(p+".count", e.Count); err != nil {
			return err
		}
	}
	return nil
}
