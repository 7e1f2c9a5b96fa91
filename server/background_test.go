package server_test

import (
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/internal/testenv"
)

// metricValue reads one series' value from e's /metrics (-1 when it is absent).
func metricValue(t *testing.T, e *testenv.Env, series string) float64 {
	t.Helper()
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(e.Do(t, "GET", "/metrics", "", "").Body)
	if m == nil {
		return -1
	}
	v, err := strconv.ParseFloat(m[1], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestBackgroundWorkRunsOnce: two servers on one database (each with its own pool, as two
// processes would have) fold the aggregate log and purge tombstones on one of them only; when
// that one stops, the other takes the work over.
func TestBackgroundWorkRunsOnce(t *testing.T) {
	t.Parallel()
	a := testenv.Start(t)
	b := a.Second(t)
	const leader, folds, purges = `lookfor_background_leader`, `lookfor_background_runs_total{job="progress_fold"}`, `lookfor_background_runs_total{job="tombstone_purge"}`
	waitFor := func(what string, ok func() bool) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for !ok() {
			if time.Now().After(deadline) {
				t.Fatalf("gave up waiting: %s", what)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	waitFor("a lease holder that has folded a few times", func() bool {
		return metricValue(t, a, folds)+metricValue(t, b, folds) >= 6
	})
	first, second := a, b
	if metricValue(t, b, leader) == 1 {
		first, second = b, a
	}
	if metricValue(t, first, leader) != 1 || metricValue(t, second, leader) != 0 {
		t.Fatalf("lease holders: %v and %v, want exactly one", metricValue(t, first, leader), metricValue(t, second, leader))
	}
	if n := metricValue(t, second, folds) + metricValue(t, second, purges); n != 0 {
		t.Errorf("the server without the lease ran background work %v times", n)
	}
	if n := metricValue(t, first, purges); n != 1 {
		t.Errorf("the lease holder purged tombstones %v times in its first hour, want 1", n)
	}

	// The holder stops (its lease connection closes): the other takes over.
	if err := first.Stop(); err != nil {
		t.Fatal(err)
	}
	waitFor("the second server to take the lease over", func() bool {
		return metricValue(t, second, leader) == 1 && metricValue(t, second, folds) > 0 && metricValue(t, second, purges) == 1
	})
}
