package store_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	gosync "sync"
	"testing"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/progress"
	"github.com/lookfor-edu/lookfor/sync"
)

// TestConcurrentCoObserversPairOnce pushes the two co-observers' records of each lesson at the
// same time: whichever commits second must see the first, so every lesson is one pair and counts
// once in the cells.
func TestConcurrentCoObserversPairOnce(t *testing.T) {
	t.Parallel()
	e := newProgressEnv(t)
	coach1, coach2 := e.staff(t, riverbend+".coach-1"), e.staff(t, riverbend+".coach-2")
	e.service()
	rooms := e.classrooms(tubman)
	const lessons = 12
	for i := range lessons {
		when := e.start.AddDate(0, 0, i)
		co := fmt.Sprintf("race-%d", i)
		a, b := e.record(coach1, rooms[i%len(rooms)], when, co), e.record(coach2, rooms[i%len(rooms)], when, co)
		start := make(chan struct{})
		var wg gosync.WaitGroup
		for _, w := range []struct {
			p observation.Principal
			r observation.Record
		}{{coach1, a}, {coach2, b}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				if _, err := e.tryPush(w.p, upsert(w.r, 0)); err != nil {
					t.Error(err)
				}
			}()
		}
		close(start)
		wg.Wait()
	}
	got := assertProgress(t, e.st, "concurrent co-observers")
	if n := pairLessons(got, progress.PeriodSchoolYear); n != lessons {
		t.Errorf("%d pairs, want %d", n, lessons)
	}
	// Each lesson counts once outside calibration, whichever push committed first.
	n := 0
	for k, m := range got.Cells {
		if k.Kind == progress.PeriodSchoolYear && !k.SiteRow() {
			n += m.Observations()
		}
	}
	if n != lessons {
		t.Errorf("%d observations in the cells, want %d (one per co-observed lesson)", n, lessons)
	}
}

// TestProgressRandomHistories applies random histories of pushes and conflict resolutions by
// four observers of one site and checks the aggregates along the way.
func TestProgressRandomHistories(t *testing.T) {
	t.Parallel()
	for seed := uint64(1); seed <= 2; seed++ {
		t.Run(fmt.Sprint(seed), func(t *testing.T) {
			t.Parallel()
			e := newProgressEnv(t)
			ctx := context.Background()
			e.service()
			rng := rand.New(rand.NewPCG(seed, 99))
			observers := []observation.Principal{e.staff(t, riverbend+".coach-1"), e.staff(t, riverbend+".coach-2"),
				e.staff(t, riverbend+".principal-harriet-tubman-es"), e.staff(t, riverbend+".district-admin")}
			admin := observers[3]
			rooms := e.classrooms(tubman)
			type rec struct {
				r   observation.Record
				by  observation.Principal
				rev int
				del bool
			}
			var recs []*rec
			groups := []string{"g-1", "g-2", "g-3"}
			live := func() []*rec {
				var out []*rec
				for _, r := range recs {
					if !r.del {
						out = append(out, r)
					}
				}
				return out
			}
			for step := range 60 {
				p := observers[rng.IntN(len(observers))]
				switch x := rng.IntN(10); {
				case x < 4 || len(live()) == 0: // a new record, sometimes co-observed, sometimes a draft
					co := ""
					if rng.IntN(2) == 0 {
						co = groups[rng.IntN(len(groups))]
					}
					r := e.record(p, rooms[rng.IntN(3)], e.start.AddDate(0, 0, rng.IntN(60)), co)
					if rng.IntN(5) == 0 {
						r.Status = observation.RecordDraft
					}
					e.push(t, p, upsert(r, 0))
					recs = append(recs, &rec{r: r, by: p, rev: 1})
				case x < 7: // an amendment (or a draft's next edit) by its observer
					l := live()
					c := l[rng.IntN(len(l))]
					r := c.r
					r.StartedAt = r.StartedAt.AddDate(0, 0, rng.IntN(15)-7)
					for i := range r.Scores {
						if !r.Scores[i].NotObserved {
							r.Scores[i].Level = 1 + rng.IntN(4)
						}
					}
					if r.CoObservation != "" && rng.IntN(3) == 0 {
						r.CoObservation = groups[rng.IntN(len(groups))]
					}
					if r.Status == observation.RecordDraft && rng.IntN(2) == 0 {
						r.Status = observation.RecordSubmitted
					}
					base := c.rev
					if c.r.Status == observation.RecordDraft {
						base = 0
					}
					res := e.push(t, c.by, upsert(r, base))
					if res[0].Status == sync.StatusApplied {
						c.r, c.rev = r, res[0].Revision
					}
				case x < 8: // a deletion
					l := live()
					c := l[rng.IntN(len(l))]
					base := c.rev
					if c.r.Status == observation.RecordDraft {
						base = 0
					}
					e.push(t, c.by, deletion(c.r.ID, base))
					c.del = true
				default: // a conflict the admin resolves
					var subs []*rec
					for _, c := range live() {
						if c.r.Status == observation.RecordSubmitted {
							subs = append(subs, c)
						}
					}
					if len(subs) == 0 {
						continue
					}
					c := subs[rng.IntN(len(subs))]
					first := c.r
					first.NextSteps = fmt.Sprintf("step %d", step)
					if res := e.push(t, admin, upsert(first, c.rev)); res[0].Status == sync.StatusApplied {
						c.r, c.rev = first, res[0].Revision
					}
					stale := c.r
					stale.StartedAt = stale.StartedAt.AddDate(0, 0, 3)
					stale.NextSteps = "stale"
					res := e.push(t, c.by, upsert(stale, c.rev-1))
					if res[0].Status != sync.StatusConflict {
						t.Fatalf("step %d: want a conflict, got %+v", step, res[0])
					}
					choice := []string{sync.ChoiceKeepServer, sync.ChoiceTakeProposed}[rng.IntN(2)]
					_, final, err := e.records.Resolve(ctx, admin, res[0].ConflictID, choice, nil)
					mustNoErr(t, err)
					c.r, c.rev = final.Record, final.Revision
				}
				if step%10 == 9 {
					assertProgress(t, e.st, fmt.Sprintf("step %d", step))
				}
			}
		})
	}
}
