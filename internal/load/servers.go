package load

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// ServerReport is what one server the run started says about itself in /metrics.
type ServerReport struct {
	Pushes float64 // pushes answered ok (or reset)
	Folds  float64 // runs of the aggregate fold (background lease holder only)
	Purges float64 // runs of the tombstone purge (background lease holder only)
	Leader bool    // holds the background lease
}

// serverReports scrapes the /metrics of every server, before they stop.
func serverReports(ctx context.Context, srvs []*serverProc) ([]ServerReport, error) {
	out := make([]ServerReport, len(srvs))
	for i, s := range srvs {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.httpAddr+"/metrics", nil)
		if err != nil {
			return nil, err
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("load: server %d /metrics: %w", i+1, err)
		}
		body, err := io.ReadAll(resp.Body)
		resp.Body.Close()
		if err != nil {
			return nil, fmt.Errorf("load: server %d /metrics: %w", i+1, err)
		}
		m := string(body)
		out[i] = ServerReport{
			Pushes: metric(m, `lookfor_sync_pushes_total{outcome="ok"}`) + metric(m, `lookfor_sync_pushes_total{outcome="reset"}`),
			Folds:  metric(m, `lookfor_background_runs_total{job="progress_fold"}`),
			Purges: metric(m, `lookfor_background_runs_total{job="tombstone_purge"}`),
			Leader: metric(m, `lookfor_background_leader`) == 1,
		}
	}
	return out, nil
}

// metric reads one series' value from a Prometheus text exposition (0 when absent).
func metric(exposition, series string) float64 {
	m := regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(series) + ` (\S+)$`).FindStringSubmatch(exposition)
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(m[1], 64)
	return v
}

// backgroundProblems: the background work (fold, purge) must have run on exactly one server,
// and every server must have taken pushes (the tablets were spread across them).
func backgroundProblems(rs []ServerReport) []string {
	var problems []string
	ran := 0
	for i, r := range rs {
		if r.Folds+r.Purges > 0 {
			ran++
		}
		if r.Pushes == 0 {
			problems = append(problems, fmt.Sprintf("server %d answered no push", i+1))
		}
	}
	if ran != 1 {
		problems = append(problems, fmt.Sprintf("background work ran on %d of %d servers, want exactly 1", ran, len(rs)))
	}
	return problems
}

func serversSummary(rs []ServerReport) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		lease := ""
		if r.Leader {
			lease = ", lease holder"
		}
		parts[i] = fmt.Sprintf("#%d: %.0f pushes, %.0f fold runs, %.0f purges%s", i+1, r.Pushes, r.Folds, r.Purges, lease)
	}
	return fmt.Sprintf("%d (%s)", len(rs), strings.Join(parts, "; "))
}
