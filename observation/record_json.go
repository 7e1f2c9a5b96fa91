package observation

import (
	"encoding/json"
	"strconv"
	"time"
)

// AppendJSON appends r exactly as encoding/json encodes it — the bytes of Canonical when its
// times are UTC — without reflection: a push encodes every record it stores (content and content
// hash) and every change it fingerprints, so this is on the push's hot path.
// TestRecordAppendJSONMatchesEncodingJSON holds the two equal on random records. The error is
// encoding/json's for a time outside the years 0..9999.
func (r *Record) AppendJSON(b []byte) ([]byte, error) {
	var err error
	b = append(b, `{"id":`...)
	b = appendString(b, r.ID)
	b = appendField(b, "district_id", r.DistrictID)
	b = appendField(b, "site_id", r.SiteID)
	b = appendField(b, "classroom_id", r.ClassroomID)
	b = appendOptional(b, "course", r.Course)
	b = appendOptional(b, "grade", r.Grade)
	b = appendOptional(b, "section", r.Section)
	b = appendField(b, "teacher_id", r.TeacherID)
	b = appendField(b, "observer_id", r.ObserverID)
	b = appendField(b, "observer_role", string(r.ObserverRole))
	b = appendField(b, "kind", string(r.Kind))
	b = appendOptional(b, "co_observation", r.CoObservation)
	b = appendField(b, "rubric_id", r.RubricID)
	b = strconv.AppendInt(append(b, `,"rubric_version":`...), int64(r.RubricVersion), 10)
	b = appendOptional(b, "language", r.Language)
	if b, err = appendTime(append(b, `,"started_at":`...), r.StartedAt); err != nil {
		return nil, err
	}
	b = strconv.AppendInt(append(b, `,"duration_minutes":`...), int64(r.DurationMin), 10)
	b = strconv.AppendInt(append(b, `,"discussion_minutes":`...), int64(r.DiscussionMin), 10)
	b = appendOptional(b, "lesson_focus", r.LessonFocus)
	if len(r.Scores) > 0 {
		b = append(b, `,"scores":[`...)
		for i, s := range r.Scores {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(append(b, `{"dimension":`...), s.Dimension)
			if s.Level != 0 {
				b = strconv.AppendInt(append(b, `,"level":`...), int64(s.Level), 10)
			}
			if s.NotObserved {
				b = append(b, `,"not_observed":true`...)
			}
			b = append(appendOptional(b, "evidence", s.Evidence), '}')
		}
		b = append(b, ']')
	}
	if len(r.Tallies) > 0 {
		b = append(b, `,"tallies":[`...)
		for i, t := range r.Tallies {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(append(b, `{"category":`...), t.Category)
			b = append(strconv.AppendInt(append(b, `,"count":`...), int64(t.Count), 10), '}')
		}
		b = append(b, ']')
	}
	if len(r.Participation) > 0 {
		b = append(b, `,"participation":[`...)
		for i, p := range r.Participation {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(append(b, `{"field":`...), p.Field)
			b = appendField(b, "option", p.Option)
			b = append(strconv.AppendInt(append(b, `,"count":`...), int64(p.Count), 10), '}')
		}
		b = append(b, ']')
	}
	if len(r.Enrolment) > 0 {
		b = append(b, `,"enrolment":[`...)
		for i, e := range r.Enrolment {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendString(append(b, `{"group":`...), e.Group)
			b = append(strconv.AppendInt(append(b, `,"count":`...), int64(e.Count), 10), '}')
		}
		b = append(b, ']')
	}
	b = appendOptional(b, "next_steps", r.NextSteps)
	b = appendField(b, "status", string(r.Status))
	if b, err = appendTime(append(b, `,"recorded_at":`...), r.RecordedAt); err != nil {
		return nil, err
	}
	return append(b, '}'), nil
}

// appendField appends `,"name":"value"`.
func appendField(b []byte, name, v string) []byte {
	b = append(append(append(b, `,"`...), name...), `":`...)
	return appendString(b, v)
}

// appendOptional appends the field unless v is empty (omitempty).
func appendOptional(b []byte, name, v string) []byte {
	if v == "" {
		return b
	}
	return appendField(b, name, v)
}

// appendString appends s as a JSON string the way encoding/json does: strings of printable ASCII
// that encoding/json leaves as they are (no '"', '\\', '<', '>', '&') directly, any other through
// encoding/json itself.
func appendString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s) // a string always encodes
			return append(b, q...)
		}
	}
	return append(append(append(b, '"'), s...), '"')
}

// appendTime appends t as encoding/json does (time.Time's MarshalJSON).
func appendTime(b []byte, t time.Time) ([]byte, error) {
	q, err := t.MarshalJSON()
	if err != nil {
		return nil, err
	}
	return append(b, q...), nil
}
