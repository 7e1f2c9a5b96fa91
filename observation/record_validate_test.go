package observation

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var testNow = time.Date(2025, 3, 14, 15, 0, 0, 0, time.UTC)

func testClassroom() *Classroom {
	return &Classroom{DistrictID: "d1", ID: "c-301", SiteID: "s-lincoln", Course: "Math 3", Grade: "3", Section: "A", TeacherID: "t-42"}
}

func testGroups() []StudentGroup {
	return []StudentGroup{{Key: "ell", Label: "English learners"}, {Key: "non_ell", Label: "Not English learners"}}
}

func testContext() RecordContext {
	return RecordContext{Classroom: testClassroom(), StudentGroups: testGroups(), Now: testNow}
}

// validRecord is a submitted record that scores every dimension of the default rubric.
func validRecord() Record {
	rv := DefaultRubricVersion(testNow)
	r := Record{
		ID:            "01959a3c-8e4f-7a21-9b3d-2f6c1e0a4b7d",
		DistrictID:    "d1",
		SiteID:        "s-lincoln",
		ClassroomID:   "c-301",
		Course:        "Math 3",
		Grade:         "3",
		Section:       "A",
		TeacherID:     "t-42",
		ObserverID:    "u-coach-7",
		ObserverRole:  RoleCoach,
		Kind:          KindFormal,
		RubricID:      DefaultRubricID,
		RubricVersion: 1,
		Language:      "en",
		StartedAt:     testNow.Add(-3 * time.Hour),
		DurationMin:   45,
		DiscussionMin: 18,
		LessonFocus:   "Fractions on a number line",
		NextSteps:     "Plan two \"why\" questions for the launch.",
		Status:        RecordSubmitted,
		RecordedAt:    testNow.Add(-2 * time.Hour),
	}
	for i, d := range rv.Content.Dimensions {
		s := Score{Dimension: d.Key, Level: 1 + i%4, Evidence: "Students compared strategies."}
		if d.Key == "ownership" {
			s = Score{Dimension: d.Key, NotObserved: true}
		}
		r.Scores = append(r.Scores, s)
	}
	for i, c := range rv.Content.TallyCategories {
		r.Tallies = append(r.Tallies, Tally{Category: c.Key, Count: i})
	}
	r.Participation = []ParticipationCount{
		{Field: "student_group", Option: "ell", Count: 6},
		{Field: "student_group", Option: "non_ell", Count: 9},
		{Field: "selection", Option: "called_on", Count: 5},
		{Field: "selection", Option: "volunteered", Count: 10},
		{Field: "question_type", Option: "why", Count: 4},
	}
	r.Enrolment = []Enrolment{{Group: "ell", Count: 8}, {Group: "non_ell", Count: 16}}
	return r
}

func TestRecordReasonsMatchSync(t *testing.T) {
	// sync defines the same codes; observation may not import sync, so they are pinned here.
	for got, want := range map[string]string{
		recordReasonOutOfScope:      "OUT_OF_SCOPE",
		recordReasonUnknownRubric:   "UNKNOWN_RUBRIC",
		recordReasonRetiredRubric:   "RETIRED_RUBRIC",
		recordReasonDraftRubric:     "DRAFT_RUBRIC",
		RecordReasonFutureTimestamp: "FUTURE_TIMESTAMP",
	} {
		if got != want {
			t.Errorf("reason %q, want %q", got, want)
		}
	}
}

func TestValidateRecordValid(t *testing.T) {
	rv := DefaultRubricVersion(testNow)
	if err := ValidateRecord(validRecord(), rv, testContext()); err != nil {
		t.Fatalf("valid submitted record: %v", err)
	}

	draft := validRecord()
	draft.Status = RecordDraft
	draft.Scores = draft.Scores[:2]
	draft.Tallies, draft.Participation, draft.Enrolment, draft.NextSteps = nil, nil, nil, ""
	if err := ValidateRecord(draft, rv, testContext()); err != nil {
		t.Fatalf("valid partial draft: %v", err)
	}
	draft.Scores = nil
	if err := ValidateRecord(draft, rv, testContext()); err != nil {
		t.Fatalf("valid empty draft: %v", err)
	}

	cal := validRecord()
	cal.Kind, cal.CoObservation = KindCalibration, "cal-2025-03-14-c301"
	if err := ValidateRecord(cal, rv, testContext()); err != nil {
		t.Fatalf("valid calibration: %v", err)
	}

	// A classroom without a teacher accepts any valid teacher id; skew is configurable.
	ctx := testContext()
	ctx.Classroom.TeacherID = ""
	ctx.MaxClockSkew = time.Hour
	r := validRecord()
	r.TeacherID = "t-substitute"
	r.StartedAt = testNow.Add(59 * time.Minute)
	r.RecordedAt = testNow.Add(time.Hour)
	if err := ValidateRecord(r, rv, ctx); err != nil {
		t.Fatalf("record within skew: %v", err)
	}
}

func TestValidateRecordRules(t *testing.T) {
	long := func(n int) string { return strings.Repeat("é", n) }
	cases := []struct {
		name   string
		mut    func(r *Record, rv *RubricVersion, c *RecordContext)
		field  string
		reason string
	}{
		{"id required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.ID = "" }, "record.id", ReasonRequired},
		{"id not uuid", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.ID = "obs-1" }, "record.id", ReasonBadID},
		{"id uppercase", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.ID = strings.ToUpper(r.ID) }, "record.id", ReasonBadID},
		{"id braces", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.ID = "{" + r.ID[:34] + "}" }, "record.id", ReasonBadID},
		{"id nil uuid", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.ID = nilUUID }, "record.id", ReasonBadID},
		{"district required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.DistrictID = "" }, "record.district_id", ReasonRequired},
		{"district bad", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.DistrictID = "d 1" }, "record.district_id", ReasonBadID},
		{"site required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.SiteID = "" }, "record.site_id", ReasonRequired},
		{"site bad", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.SiteID = "-x" }, "record.site_id", ReasonBadID},
		{"classroom required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.ClassroomID = "" }, "record.classroom_id", ReasonRequired},
		{"classroom bad", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.ClassroomID = "c/301" }, "record.classroom_id", ReasonBadID},
		{"classroom unknown", func(_ *Record, _ *RubricVersion, c *RecordContext) { c.Classroom = nil }, "record.classroom_id", recordReasonUnknownClassroom},
		{"classroom other id", func(_ *Record, _ *RubricVersion, c *RecordContext) { c.Classroom.ID = "c-302" }, "record.classroom_id", recordReasonClassroomMismatch},
		{"classroom other district", func(_ *Record, _ *RubricVersion, c *RecordContext) { c.Classroom.DistrictID = "d2" }, "record.district_id", recordReasonClassroomMismatch},
		{"classroom other site", func(_ *Record, _ *RubricVersion, c *RecordContext) { c.Classroom.SiteID = "s-other" }, "record.site_id", recordReasonClassroomMismatch},
		{"course too long", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Course = long(maxRecordLabelLength + 1) }, "record.course", ReasonTooLong},
		{"grade utf8", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Grade = "\xff" }, "record.grade", ReasonInvalidUTF8},
		{"section utf8", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Section = "A\xc3" }, "record.section", ReasonInvalidUTF8},
		{"teacher required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.TeacherID = "" }, "record.teacher_id", ReasonRequired},
		{"teacher bad", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.TeacherID = "Ms. Smith" }, "record.teacher_id", ReasonBadID},
		{"teacher mismatch", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.TeacherID = "t-43" }, "record.teacher_id", recordReasonTeacherMismatch},
		{"observer required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.ObserverID = "" }, "record.observer_id", ReasonRequired},
		{"observer bad", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.ObserverID = "a b" }, "record.observer_id", ReasonBadID},
		{"role required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.ObserverRole = "" }, "record.observer_role", ReasonRequired},
		{"role analyst", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.ObserverRole = RoleNetworkAnalyst }, "record.observer_role", recordReasonBadRole},
		{"role unknown", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.ObserverRole = "teacher" }, "record.observer_role", recordReasonBadRole},
		{"kind required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Kind = "" }, "record.kind", ReasonRequired},
		{"kind unknown", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Kind = "peer" }, "record.kind", recordReasonBadKind},
		{"co-observation on formal", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.CoObservation = "k1" }, "record.co_observation", recordReasonCoObservation},
		{"calibration without key", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Kind = KindCalibration }, "record.co_observation", recordReasonCoObservation},
		{"calibration bad key", func(r *Record, _ *RubricVersion, _ *RecordContext) {
			r.Kind, r.CoObservation = KindCalibration, "key with spaces"
		}, "record.co_observation", ReasonBadID},
		{"rubric required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.RubricID = "" }, "record.rubric_id", ReasonRequired},
		{"rubric other", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.RubricID = "other" }, "record.rubric_id", recordReasonUnknownRubric},
		{"rubric version other", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.RubricVersion = 2 }, "record.rubric_version", recordReasonUnknownRubric},
		{"rubric draft", func(_ *Record, rv *RubricVersion, _ *RecordContext) { rv.Status = StatusDraft }, "record.rubric_version", recordReasonDraftRubric},
		{"rubric retired", func(_ *Record, rv *RubricVersion, _ *RecordContext) { rv.Status = StatusRetired }, "record.rubric_version", recordReasonRetiredRubric},
		{"rubric no status", func(_ *Record, rv *RubricVersion, _ *RecordContext) { rv.Status = "" }, "record.rubric_version", recordReasonUnknownRubric},
		{"language too long", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Language = long(maxRecordLabelLength + 1) }, "record.language", ReasonTooLong},
		{"started required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.StartedAt = time.Time{} }, "record.started_at", ReasonRequired},
		{"started before 2000", func(r *Record, _ *RubricVersion, _ *RecordContext) {
			r.StartedAt = time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC)
		}, "record.started_at", RecordReasonBadTimestamp},
		{"started future", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.StartedAt = testNow.Add(25 * time.Hour) }, "record.started_at", RecordReasonFutureTimestamp},
		{"started future custom skew", func(r *Record, _ *RubricVersion, c *RecordContext) {
			c.MaxClockSkew = time.Minute
			r.StartedAt = testNow.Add(2 * time.Minute)
		}, "record.started_at", RecordReasonFutureTimestamp},
		{"duration zero", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.DurationMin, r.DiscussionMin = 0, 0 }, "record.duration_minutes", recordReasonOutOfRange},
		{"duration too long", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.DurationMin = maxDurationMinutes + 1 }, "record.duration_minutes", recordReasonOutOfRange},
		{"discussion negative", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.DiscussionMin = -1 }, "record.discussion_minutes", recordReasonNegative},
		{"discussion exceeds", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.DiscussionMin = r.DurationMin + 1 }, "record.discussion_minutes", recordReasonDiscussionExceedsDuration},
		{"lesson focus too long", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.LessonFocus = long(maxLessonFocusLength + 1) }, "record.lesson_focus", ReasonTooLong},
		{"lesson focus utf8", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.LessonFocus = "ok\x80" }, "record.lesson_focus", ReasonInvalidUTF8},
		{"score dimension required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Scores[1].Dimension = "" }, "record.scores[1].dimension", ReasonRequired},
		{"score unknown dimension", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Scores[2].Dimension = "joy" }, "record.scores[2].dimension", RecordReasonUnknownDimension},
		{"score duplicate dimension", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Scores[3].Dimension = r.Scores[0].Dimension }, "record.scores[3].dimension", recordReasonDuplicateDimension},
		{"not observed not allowed", func(r *Record, rv *RubricVersion, _ *RecordContext) {
			rv.Content.Dimensions[5].AllowNotObserved = false // ownership, scored NO
		}, "record.scores[5].not_observed", recordReasonNotObservedNotAllowed},
		{"level with not observed", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Scores[5].Level = 2 }, "record.scores[5].level", recordReasonLevelWithNotObserved},
		{"level zero", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Scores[0].Level = 0 }, "record.scores[0].level", ReasonLevelOutOfRange},
		{"level too high", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Scores[2].Level = 5 }, "record.scores[2].level", ReasonLevelOutOfRange},
		{"level negative", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Scores[1].Level = -1 }, "record.scores[1].level", ReasonLevelOutOfRange},
		{"evidence too long", func(r *Record, _ *RubricVersion, _ *RecordContext) {
			r.Scores[4].Evidence = long(maxEvidenceLength + 1)
		}, "record.scores[4].evidence", ReasonTooLong},
		{"evidence utf8", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Scores[4].Evidence = "\xed\xa0\x80" }, "record.scores[4].evidence", ReasonInvalidUTF8},
		{"submitted missing score", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Scores = r.Scores[:5] }, "record.scores", recordReasonMissingScore},
		{"submitted no scores", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Scores = nil }, "record.scores", recordReasonMissingScore},
		{"tally category required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Tallies[0].Category = "" }, "record.tallies[0].category", ReasonRequired},
		{"tally unknown category", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Tallies[0].Category = "shouting" }, "record.tallies[0].category", recordReasonUnknownTallyCategory},
		{"tally duplicate", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Tallies[4].Category = r.Tallies[1].Category }, "record.tallies[4].category", recordReasonDuplicateTally},
		{"tally negative", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Tallies[3].Count = -2 }, "record.tallies[3].count", recordReasonNegative},
		{"tally too many", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Tallies[3].Count = MaxRecordCount + 1 }, "record.tallies[3].count", recordReasonOutOfRange},
		{"participation field required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Participation[2].Field = "" }, "record.participation[2].field", ReasonRequired},
		{"participation unknown field", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Participation[2].Field = "gender" }, "record.participation[2].field", recordReasonUnknownParticipationField},
		{"participation option required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Participation[2].Option = "" }, "record.participation[2].option", ReasonRequired},
		{"participation unknown option", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Participation[4].Option = "when" }, "record.participation[4].option", recordReasonUnknownOption},
		{"participation unknown group", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Participation[1].Option = "gifted" }, "record.participation[1].option", recordReasonUnknownOption},
		{"participation group without district groups", func(_ *Record, _ *RubricVersion, c *RecordContext) {
			c.StudentGroups = nil
		}, "record.participation[0].option", recordReasonUnknownOption},
		{"participation option of another field", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Participation[2].Option = "why" }, "record.participation[2].option", recordReasonUnknownOption},
		{"participation duplicate", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Participation[3].Option = "called_on" }, "record.participation[3].option", recordReasonDuplicateParticipation},
		{"participation negative", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Participation[0].Count = -1 }, "record.participation[0].count", recordReasonNegative},
		{"participation too many", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Participation[0].Count = MaxRecordCount + 1 }, "record.participation[0].count", recordReasonOutOfRange},
		{"enrolment group required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Enrolment[1].Group = "" }, "record.enrolment[1].group", ReasonRequired},
		{"enrolment unknown group", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Enrolment[1].Group = "boys" }, "record.enrolment[1].group", recordReasonUnknownGroup},
		{"enrolment duplicate", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Enrolment[1].Group = "ell" }, "record.enrolment[1].group", recordReasonDuplicateGroup},
		{"enrolment negative", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Enrolment[0].Count = -3 }, "record.enrolment[0].count", recordReasonNegative},
		{"enrolment too many", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Enrolment[0].Count = MaxRecordCount + 1 }, "record.enrolment[0].count", recordReasonOutOfRange},
		{"next steps too long", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.NextSteps = long(maxNextStepsLength + 1) }, "record.next_steps", ReasonTooLong},
		{"next steps utf8", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.NextSteps = "\xc0\xaf" }, "record.next_steps", ReasonInvalidUTF8},
		{"status required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Status = "" }, "record.status", ReasonRequired},
		{"status unknown", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.Status = "final" }, "record.status", recordReasonBadStatus},
		{"recorded required", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.RecordedAt = time.Time{} }, "record.recorded_at", ReasonRequired},
		{"recorded before 2000", func(r *Record, _ *RubricVersion, _ *RecordContext) {
			r.RecordedAt = time.Date(1970, 1, 1, 0, 0, 0, 0, time.UTC)
		}, "record.recorded_at", RecordReasonBadTimestamp},
		{"recorded future", func(r *Record, _ *RubricVersion, _ *RecordContext) { r.RecordedAt = testNow.Add(48 * time.Hour) }, "record.recorded_at", RecordReasonFutureTimestamp},
	}
	seen := map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, rv, c := validRecord(), DefaultRubricVersion(testNow), testContext()
			tc.mut(&r, &rv, &c)
			err := ValidateRecord(r, rv, c)
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("got %v (%T), want *Error %s %s", err, err, tc.field, tc.reason)
			}
			if e.Kind != KindInvalid || e.Field != tc.field || e.Reason != tc.reason {
				t.Fatalf("got kind %v field %q reason %q (%v), want field %q reason %q", e.Kind, e.Field, e.Reason, e, tc.field, tc.reason)
			}
			if e.Message == "" {
				t.Error("empty message")
			}
		})
		seen[tc.reason] = true
	}
	for _, reason := range []string{
		ReasonRequired, ReasonBadID, ReasonTooLong, ReasonInvalidUTF8, ReasonLevelOutOfRange,
		recordReasonUnknownClassroom, recordReasonClassroomMismatch, recordReasonTeacherMismatch,
		recordReasonBadRole, recordReasonBadKind, recordReasonCoObservation, recordReasonUnknownRubric,
		recordReasonRetiredRubric, recordReasonDraftRubric, RecordReasonFutureTimestamp, RecordReasonBadTimestamp,
		recordReasonOutOfRange, recordReasonNegative, recordReasonDiscussionExceedsDuration, recordReasonBadStatus,
		RecordReasonUnknownDimension, recordReasonDuplicateDimension, recordReasonNotObservedNotAllowed,
		recordReasonLevelWithNotObserved, recordReasonMissingScore, recordReasonUnknownTallyCategory,
		recordReasonDuplicateTally, recordReasonUnknownParticipationField, recordReasonUnknownOption,
		recordReasonDuplicateParticipation, recordReasonUnknownGroup, recordReasonDuplicateGroup,
	} {
		if !seen[reason] {
			t.Errorf("no case covers reason %s", reason)
		}
	}
}

func TestValidateRecordDraftStillChecksScores(t *testing.T) {
	r := validRecord()
	r.Status = RecordDraft
	r.Scores = []Score{{Dimension: "press", Level: 7}}
	err := ValidateRecord(r, DefaultRubricVersion(testNow), testContext())
	var e *Error
	if !errors.As(err, &e) || e.Field != "record.scores[0].level" || e.Reason != ReasonLevelOutOfRange {
		t.Fatalf("got %v", err)
	}
}

func TestValidateRecordFirstViolationIsReported(t *testing.T) {
	r := validRecord()
	r.Scores[1].Level = 9
	r.Tallies[0].Count = -1
	r.Status = "bogus"
	err := ValidateRecord(r, DefaultRubricVersion(testNow), testContext())
	var e *Error
	if !errors.As(err, &e) || e.Field != "record.scores[1].level" {
		t.Fatalf("got %v, want the score error first", err)
	}
}

func TestIsUUID(t *testing.T) {
	for s, want := range map[string]bool{
		"01959a3c-8e4f-7a21-9b3d-2f6c1e0a4b7d":    true,
		"00000000-0000-0000-0000-000000000000":    true,
		"123e4567-e89b-12d3-a456-426614174000":    true,
		"01959A3C-8E4F-7A21-9B3D-2F6C1E0A4B7D":    false,
		"01959a3c8e4f7a219b3d2f6c1e0a4b7d":        false,
		"{01959a3c-8e4f-7a21-9b3d-2f6c1e0a4b7d}":  false,
		"urn:uuid:01959a3c-8e4f-7a21-9b3d-2f6c1e": false,
		"01959a3c-8e4f-7a21-9b3d-2f6c1e0a4b7g":    false,
		"01959a3c-8e4f-7a21-9b3d_2f6c1e0a4b7d":    false,
		"01959a3c-8e4f-7a21-9b3d-2f6c1e0a4b7":     false,
		"":                                        false,
	} {
		if got := IsUUID(s); got != want {
			t.Errorf("IsUUID(%q) = %v, want %v", s, got, want)
		}
	}
}

func FuzzValidateRecord(f *testing.F) {
	base := validRecord()
	add := func(r Record) {
		b, err := json.Marshal(r)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	add(base)
	draft := base
	draft.Status, draft.Scores = RecordDraft, base.Scores[:3]
	add(draft)
	cal := base
	cal.Kind, cal.CoObservation = KindCalibration, "cal-1"
	cal.StartedAt = cal.StartedAt.In(time.FixedZone("PST", -8*3600))
	add(cal)
	bad := base
	bad.Scores = append([]Score{{Dimension: "press", NotObserved: true, Level: 3}}, base.Scores...)
	add(bad)
	f.Add([]byte(`{"id":"01959a3c-8e4f-7a21-9b3d-2f6c1e0a4b7d","status":"draft"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))

	rv := DefaultRubricVersion(testNow)
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Record
		if err := json.Unmarshal(data, &r); err != nil {
			t.Skip()
		}
		err := ValidateRecord(r, rv, testContext())
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v is %T, not *Error", err, err)
			}
			if e.Kind != KindInvalid || e.Field == "" || e.Reason == "" || e.Message == "" {
				t.Fatalf("incomplete error %+v", e)
			}
			return
		}
		h := r.Hash()
		if h2 := r.Hash(); h2 != h {
			t.Fatalf("hash not deterministic: %s vs %s", h, h2)
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("valid record does not encode: %v", err)
		}
		var back Record
		if err := json.Unmarshal(b, &back); err != nil {
			t.Fatalf("valid record does not decode: %v", err)
		}
		if hb := back.Hash(); hb != h {
			t.Fatalf("hash changed across encode/decode: %s vs %s\n%s", h, hb, b)
		}
		if err := ValidateRecord(back, rv, testContext()); err != nil {
			t.Fatalf("re-decoded valid record is invalid: %v", err)
		}
	})
}

func TestIsUUIDv7(t *testing.T) {
	for s, want := range map[string]bool{
		"01959a3c-8e4f-7a21-9b3d-2f6c1e0a4b7d": true,
		"01959a3c-8e4f-7a21-8b3d-2f6c1e0a4b7d": true,
		"01959a3c-8e4f-7a21-cb3d-2f6c1e0a4b7d": false, // another variant
		"123e4567-e89b-42d3-a456-426614174000": false, // version 4
		"00000000-0000-0000-0000-000000000000": false,
		"01959A3C-8E4F-7A21-9B3D-2F6C1E0A4B7D": false,
		"01959a3c-8e4f-7a21-9b3d-2f6c1e0a4b7":  false,
	} {
		if got := IsUUIDv7(s); got != want {
			t.Errorf("IsUUIDv7(%q) = %v, want %v", s, got, want)
		}
	}
}
