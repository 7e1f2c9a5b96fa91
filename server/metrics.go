package server

import (
	"context"
	"math"
	"strings"
	gosync "sync"
	"time"
	"unicode"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc/status"

	"github.com/lookfor-edu/lookfor/store"
	"github.com/lookfor-edu/lookfor/sync"
)

// lookfor's own Prometheus metrics besides grpc_server_* (docs/operations.md lists them all;
// docs/grafana-dashboard.json charts them).

type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

func newHTTPMetrics(reg prometheus.Registerer) httpMetrics {
	m := httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookfor_http_requests_total",
			Help: "HTTP requests answered, by method, route (the gateway's path pattern) and status code."}, []string{"method", "route", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "lookfor_http_request_duration_seconds",
			Help: "Time from a request's headers to its last response byte, by method and route.", Buckets: prometheus.DefBuckets},
			[]string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

// syncMetrics count the offline sync protocol's outcomes.
type syncMetrics struct {
	results *prometheus.CounterVec // per change of a push
	pushes  *prometheus.CounterVec
	pulls   *prometheus.CounterVec
}

func newSyncMetrics(reg prometheus.Registerer) *syncMetrics {
	m := &syncMetrics{
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookfor_sync_change_results_total",
			Help: "Results of pushed changes, by status (applied, duplicate, conflict, rejected) and reason (empty when applied); replayed results of a retried push count again."},
			[]string{"status", "reason"}),
		pushes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookfor_sync_pushes_total",
			Help: "Pushes, by outcome: ok, reset (the cursor was refused; the changes were still applied) or the gRPC code of a refused push."},
			[]string{"outcome"}),
		pulls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookfor_sync_pulls_total",
			Help: "Pulls, by outcome: ok, reset (the tablet must pull its copy again) or the gRPC code of a refused pull."},
			[]string{"outcome"}),
	}
	reg.MustRegister(m.results, m.pushes, m.pulls)
	for _, st := range []sync.Status{sync.StatusApplied, sync.StatusDuplicate, sync.StatusConflict} {
		m.results.WithLabelValues(string(st), "")
	}
	for _, o := range []string{"ok", "reset"} {
		m.pushes.WithLabelValues(o)
		m.pulls.WithLabelValues(o)
	}
	return m
}

// outcome is a sync call's metric label: its status code as the caller receives it (toStatus),
// in snake case (failed_precondition), "reset", or "ok".
func outcome(err error, reset bool) string {
	switch {
	case err != nil:
		var b strings.Builder
		for i, r := range status.Code(toStatus(err)).String() {
			if unicode.IsUpper(r) && i > 0 {
				b.WriteByte('_')
			}
			b.WriteRune(unicode.ToLower(r))
		}
		return b.String()
	case reset:
		return "reset"
	}
	return "ok"
}

// backgroundMetrics say which process holds the background lease and what it did.
type backgroundMetrics struct {
	leader  prometheus.Gauge
	runs    *prometheus.CounterVec
	foldLag prometheus.GaugeFunc

	mu         gosync.Mutex
	caughtUpAt time.Time // the last fold pass that left the log empty (or nearly so); zero: none yet
}

func newBackgroundMetrics(reg prometheus.Registerer) *backgroundMetrics {
	m := &backgroundMetrics{
		leader: prometheus.NewGauge(prometheus.GaugeOpts{Name: "lookfor_background_leader",
			Help: "1 while this process holds the background lease and runs the aggregate fold and tombstone purge for the database; 0 otherwise."}),
		runs: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "lookfor_background_runs_total",
			Help: "Background job runs by this process, by job (progress_fold: one pass over the aggregate log; tombstone_purge)."}, []string{"job"}),
	}
	m.foldLag = prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "lookfor_progress_fold_lag_seconds",
		Help: "On the lease holder: seconds since the aggregate fold last caught up with the log (0 on other processes)."},
		func() float64 {
			m.mu.Lock()
			defer m.mu.Unlock()
			if m.caughtUpAt.IsZero() {
				return 0
			}
			return time.Since(m.caughtUpAt).Seconds()
		})
	reg.MustRegister(m.leader, m.runs, m.foldLag)
	m.runs.WithLabelValues(jobFold)
	m.runs.WithLabelValues(jobPurge)
	return m
}

const (
	jobFold  = "progress_fold"
	jobPurge = "tombstone_purge"
)

func (m *backgroundMetrics) caughtUp(at time.Time) {
	m.mu.Lock()
	m.caughtUpAt = at
	m.mu.Unlock()
}

func (m *backgroundMetrics) notLeader() {
	m.leader.Set(0)
	m.caughtUp(time.Time{})
}

// storeCollector reports the connection pools' statistics and the aggregate log's backlog at
// scrape time.
type storeCollector struct {
	st *store.Store

	acquired, idle, total, maxConns, constructing *prometheus.Desc
	acquires, emptyAcquires, canceledAcquires     *prometheus.Desc
	acquireSeconds, newConns                      *prometheus.Desc
	backlog                                       *prometheus.Desc
}

// backlogLimit caps the backlog count so a scrape stays cheap whatever the backlog.
const backlogLimit = 1_000_000

func newStoreCollector(st *store.Store) *storeCollector {
	d := func(name, help string) *prometheus.Desc {
		return prometheus.NewDesc("lookfor_db_pool_"+name, help, []string{"pool"}, nil)
	}
	return &storeCollector{st: st,
		acquired:         d("acquired_connections", "Connections in use (pool: primary, or read for the replica the views read)."),
		idle:             d("idle_connections", "Idle connections."),
		total:            d("total_connections", "Open connections (acquired, idle and being opened)."),
		maxConns:         d("max_connections", "The pool's size (--db-max-conns)."),
		constructing:     d("constructing_connections", "Connections being opened."),
		acquires:         d("acquires_total", "Connections acquired from the pool."),
		emptyAcquires:    d("empty_acquires_total", "Acquires that had to wait for a connection (the pool was empty)."),
		canceledAcquires: d("canceled_acquires_total", "Acquires canceled by their caller while waiting."),
		acquireSeconds:   d("acquire_seconds_total", "Total time spent waiting to acquire connections."),
		newConns:         d("new_connections_total", "Connections opened."),
		backlog: prometheus.NewDesc("lookfor_progress_log_backlog_rows",
			"Rows of the aggregate log (one per record a push changed) not yet folded into the aggregate cells (views read both; a growing backlog slows them). Counted up to 1,000,000.", nil, nil),
	}
}

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.acquired, c.idle, c.total, c.maxConns, c.constructing, c.acquires,
		c.emptyAcquires, c.canceledAcquires, c.acquireSeconds, c.newConns, c.backlog} {
		ch <- d
	}
}

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	for name, p := range c.st.Pools() {
		s := p.Stat()
		g := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, name)
		}
		k := func(d *prometheus.Desc, v float64) {
			ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, v, name)
		}
		g(c.acquired, float64(s.AcquiredConns()))
		g(c.idle, float64(s.IdleConns()))
		g(c.total, float64(s.TotalConns()))
		g(c.maxConns, float64(s.MaxConns()))
		g(c.constructing, float64(s.ConstructingConns()))
		k(c.acquires, float64(s.AcquireCount()))
		k(c.emptyAcquires, float64(s.EmptyAcquireCount()))
		k(c.canceledAcquires, float64(s.CanceledAcquireCount()))
		k(c.acquireSeconds, s.AcquireDuration().Seconds())
		k(c.newConns, float64(s.NewConnsCount()))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	n, err := c.st.ProgressLogBacklog(ctx, backlogLimit)
	v := float64(n)
	if err != nil {
		v = math.NaN() // the database did not answer: unknown, not 0
	}
	ch <- prometheus.MustNewConstMetric(c.backlog, prometheus.GaugeValue, v)
}
