// Package progressref recomputes the progress aggregates from stored records straight from the
// contract (docs/statistics.md "What counts" and "Co-observations"), by a route of its own: the
// property tests compare the maintained aggregates, and progress.Recompute, with it. It shares
// with the code under test only the per-record and per-pair terms (progress.Delta.Record and
// progress.Delta.Group on one lesson), which have their own tests.
package progressref

import (
	"slices"
	"strings"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
)

// Aggregates returns the aggregate rows of the records: every submitted, non-deleted record
// without a co-observation key counts in its cells; of the submitted, non-deleted
// records sharing a co-observation key (in one district), only the one submitted first (the
// earliest SubmittedAt, equal times: the smaller id) counts there; pairs are formed within each
// lesson of a group (the same classroom on the same UTC date).
func Aggregates(all []observation.StoredObservation, in progress.Inputs) *progress.Delta {
	d := progress.NewDelta()
	groups := map[[2]string][]observation.StoredObservation{}
	for _, o := range all {
		if o.Status != observation.RecordSubmitted || o.Deleted {
			continue
		}
		if o.CoObservation == "" {
			content, _ := in.Content(o.RubricID, o.RubricVersion)
			d.Record(o.Record, content, in.Settings(o.DistrictID), 1)
			continue
		}
		k := [2]string{o.DistrictID, o.CoObservation}
		groups[k] = append(groups[k], o)
	}
	for k, members := range groups {
		first := slices.MinFunc(members, func(a, b observation.StoredObservation) int {
			if c := a.SubmittedAt.Compare(b.SubmittedAt); c != 0 {
				return c
			}
			return strings.Compare(a.ID, b.ID)
		})
		content, _ := in.Content(first.RubricID, first.RubricVersion)
		d.Record(first.Record, content, in.Settings(k[0]), 1)
		lessons := map[[2]string][]observation.Record{}
		for _, m := range members {
			l := [2]string{m.ClassroomID, m.StartedAt.UTC().Format(time.DateOnly)}
			lessons[l] = append(lessons[l], m.Record)
		}
		for _, lesson := range lessons {
			d.Group(lesson, in.Settings(k[0]), 1)
		}
	}
	return d
}
