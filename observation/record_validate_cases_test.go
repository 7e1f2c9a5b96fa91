package observation_test

import (
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// TestRecordValidationCases: the cases in testdata/record-validation-cases.json, which the tablet
// app's validate.js must answer identically (web/test/record.test.mjs), give the field and reason
// ValidateRecord reports — so the app refuses what the server refuses, naming the same field.
func TestRecordValidationCases(t *testing.T) {
	b, err := os.ReadFile("testdata/record-validation-cases.json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Now    time.Time `json:"now"`
		Rubric struct {
			RubricID string                    `json:"rubric_id"`
			Version  int                       `json:"version"`
			Content  observation.RubricContent `json:"content"`
		} `json:"rubric"`
		Classrooms []struct {
			ID         string `json:"classroom_id"`
			DistrictID string `json:"district_id"`
			SiteID     string `json:"site_id"`
			TeacherID  string `json:"teacher_id"`
		} `json:"classrooms"`
		Groups []string                   `json:"groups"`
		Base   map[string]json.RawMessage `json:"base"`
		Cases  []struct {
			Name  string                     `json:"name"`
			Patch map[string]json.RawMessage `json:"patch"`
			Want  []string                   `json:"want"`
		} `json:"cases"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	rv := observation.RubricVersion{RubricID: doc.Rubric.RubricID, Version: doc.Rubric.Version,
		Status: observation.StatusPublished, Content: doc.Rubric.Content}
	var groups []observation.StudentGroup
	for _, g := range doc.Groups {
		groups = append(groups, observation.StudentGroup{Key: g})
	}
	if len(doc.Cases) < 40 {
		t.Fatalf("%d cases, want the whole list", len(doc.Cases))
	}
	for _, c := range doc.Cases {
		m := map[string]json.RawMessage{}
		for k, v := range doc.Base {
			m[k] = v
		}
		for k, v := range c.Patch {
			m[k] = v
		}
		raw, _ := json.Marshal(m)
		var r observation.Record
		if err := json.Unmarshal(expandRepeats(t, raw), &r); err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		var cl *observation.Classroom
		for _, x := range doc.Classrooms {
			if x.ID == r.ClassroomID {
				cl = &observation.Classroom{ID: x.ID, DistrictID: x.DistrictID, SiteID: x.SiteID, TeacherID: x.TeacherID}
			}
		}
		err := observation.ValidateRecord(r, rv, observation.RecordContext{Classroom: cl, StudentGroups: groups, Now: doc.Now})
		var got []string
		if e := (*observation.Error)(nil); errors.As(err, &e) {
			got = []string{e.Field, e.Reason}
		} else if err != nil {
			t.Fatalf("%s: %v", c.Name, err)
		}
		if strings.Join(got, " ") != strings.Join(c.Want, " ") {
			t.Errorf("%s: got %v, want %v", c.Name, got, c.Want)
		}
	}
}

// expandRepeats replaces every {"$repeat": [s, n]} in a JSON document with s repeated n times.
func expandRepeats(t *testing.T, raw []byte) []byte {
	var v any
	if err := json.Unmarshal(raw, &v); err != nil {
		t.Fatal(err)
	}
	var walk func(any) any
	walk = func(v any) any {
		switch x := v.(type) {
		case map[string]any:
			if rep, ok := x["$repeat"].([]any); ok && len(x) == 1 {
				return strings.Repeat(rep[0].(string), int(rep[1].(float64)))
			}
			for k, e := range x {
				x[k] = walk(e)
			}
		case []any:
			for i, e := range x {
				x[i] = walk(e)
			}
		}
		return v
	}
	out, _ := json.Marshal(walk(v))
	return out
}
