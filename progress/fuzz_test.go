package progress_test

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
)

// FuzzRecordMetrics feeds arbitrary records to the aggregate deltas: they never panic, adding a
// record and removing it again leaves nothing, and the level counters decode to one count per
// score of a dimension key the metrics can carry.
func FuzzRecordMetrics(f *testing.F) {
	w := newProgressWorld()
	f.Add([]byte(`{"id":"x","district_id":"d1","site_id":"s","classroom_id":"c","teacher_id":"t","rubric_id":"r","rubric_version":1,
		"started_at":"2026-02-03T10:00:00Z","discussion_minutes":12,"scores":[{"dimension":"substance","level":3},{"dimension":"press","not_observed":true}],
		"tallies":[{"category":"press_reasoning","count":4}],"participation":[{"field":"student_group","option":"group_a","count":3}],
		"enrolment":[{"group":"group_a","count":5},{"group":"group_b","count":7}],"status":"submitted","co_observation":"k"}`))
	f.Add([]byte(`{"started_at":"0001-01-01T00:00:00Z","scores":[{"dimension":"a|b","level":-4}],"tallies":[{"category":"","count":-1}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var r observation.Record
		if json.Unmarshal(data, &r) != nil {
			return
		}
		content := w.versions[0].Content
		d := progress.NewDelta()
		d.Record(r, content, w.settings, 1)
		other := r
		other.ObserverID += "-2"
		d.Group([]observation.Record{r, other}, w.settings, 1)
		d.Record(r, content, w.settings, -1)
		d.Group([]observation.Record{r, other}, w.settings, -1)
		if !d.Empty() {
			t.Fatalf("add then remove left %+v", d.Normalize())
		}
		scores := 0
		for _, s := range r.Scores {
			if s.Dimension != "" && !strings.Contains(s.Dimension, "|") {
				scores++
			}
		}
		decoded := 0
		for _, ls := range progress.RecordMetrics(r, content).Levels() {
			decoded += ls.N + ls.NotObserved
		}
		if decoded != scores {
			t.Fatalf("%d scores decode to %d level counts", scores, decoded)
		}
	})
}

// FuzzParsePeriod feeds arbitrary period kinds and keys: a key is either refused with a field and
// a reason, or names a period whose first day lies in it under the same key.
func FuzzParsePeriod(f *testing.F) {
	s := newProgressWorld().settings
	for _, seed := range [][2]string{{"school_year", "2025-26"}, {"term", "2025-26/T3"}, {"month", "2026-02"},
		{"week", "2026-W53"}, {"window", "2025-26/baseline"}, {"window", "2025-26/x"}, {"day", "1"},
		{"day", "2024-02-29"}, {"day", "2025-02-29"}, {"day", "2026-13-01"}, {"day", "2026-1-05"}} {
		f.Add(seed[0], seed[1])
	}
	f.Fuzz(func(t *testing.T, kind, key string) {
		p, err := progress.ParsePeriod(kind, key, s)
		if err != nil {
			var e *observation.Error
			if !errors.As(err, &e) || e.Kind != observation.KindInvalid || e.Field == "" || e.Reason == "" {
				t.Fatalf("ParsePeriod(%q, %q): %v is not an invalid-input error with a field and a reason", kind, key, err)
			}
			return
		}
		if !p.Start.Before(p.End) || p.Start.Location() != time.UTC {
			t.Fatalf("ParsePeriod(%q, %q) = %+v", kind, key, p)
		}
		if back, ok := progress.PeriodOf(p.Kind, p.Start, s); !ok || back.Key != p.Key || !back.Start.Equal(p.Start) {
			t.Fatalf("ParsePeriod(%q, %q) = %v, but its first day is in %v", kind, key, p, back)
		}
	})
}
