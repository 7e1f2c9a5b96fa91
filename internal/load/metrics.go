package load

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	gosync "sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc/status"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
	"github.com/lookfor-edu/lookfor/tablet"
)

// Metrics collects what every tablet's transport saw: per-call latencies of successful pushes
// and pulls, and every failed call by code and time.
type Metrics struct {
	mu         gosync.Mutex
	push, pull []time.Duration
	pushed     int // changes in successful pushes
	replayed   int // results the server answered as replays of an earlier push
	pulled     int // upserts and tombstones received
	errs       []callError
	lastOK     map[string]time.Time // last successful call end, per operation

	pushing atomic.Int64 // pushes in flight
}

// callError is one failed transport call.
type callError struct {
	Op   string // register, push, pull, reconcile
	Code string // gRPC code name; with the error reason when the server gave one, e.g. Unavailable/UNAVAILABLE
	At   time.Time
}

// ServerUnavailable reports whether the server itself answered UNAVAILABLE (a dependency such as
// the database is down), as opposed to the connection failing.
func (e callError) ServerUnavailable() bool { return e.Code == "Unavailable/UNAVAILABLE" }

func newMetrics() *Metrics { return &Metrics{lastOK: map[string]time.Time{}} }

// code names an error: the gRPC code, plus the server's reason when it sent one.
func code(err error) string {
	if errors.Is(err, context.Canceled) {
		return "Canceled"
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "DeadlineExceeded"
	}
	c := "Unknown"
	if st, ok := status.FromError(err); ok {
		c = st.Code().String()
	}
	var oe *observation.Error
	if errors.As(err, &oe) && oe.Reason != "" {
		c += "/" + oe.Reason
	}
	return c
}

func (m *Metrics) observe(op string, start time.Time, err error) {
	end := time.Now()
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.errs = append(m.errs, callError{Op: op, Code: code(err), At: end})
		return
	}
	m.lastOK[op] = end
	switch op {
	case "push":
		m.push = append(m.push, end.Sub(start))
	case "pull":
		m.pull = append(m.pull, end.Sub(start))
	}
}

// snapshot is a copy of the metrics at one moment.
type snapshot struct {
	Push, Pull     []time.Duration // sorted
	Pushed, Pulled int
	Replayed       int
	Errors         []callError
}

// snapshot copies the metrics.
func (m *Metrics) snapshot() snapshot {
	m.mu.Lock()
	defer m.mu.Unlock()
	s := snapshot{Push: slices.Clone(m.push), Pull: slices.Clone(m.pull), Pushed: m.pushed, Pulled: m.pulled,
		Replayed: m.replayed, Errors: slices.Clone(m.errs)}
	slices.Sort(s.Push)
	slices.Sort(s.Pull)
	return s
}

// PushesInFlight is the number of pushes sent and not yet answered.
func (m *Metrics) PushesInFlight() int64 { return m.pushing.Load() }

// SuccessAfter reports whether a call of op succeeded after t.
func (m *Metrics) SuccessAfter(op string, t time.Time) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.lastOK[op].After(t)
}

// Percentile returns the p-th percentile (0..100) of sorted durations, 0 when empty.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(float64(len(sorted)-1)*p/100 + 0.5)
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// errorCounts counts errors by op and code, as "push Unavailable/UNAVAILABLE: 12, …".
func errorCounts(errs []callError) string {
	if len(errs) == 0 {
		return "none"
	}
	n := map[string]int{}
	for _, e := range errs {
		n[e.Op+" "+e.Code]++
	}
	keys := make([]string, 0, len(n))
	for k := range n {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return n[keys[i]] > n[keys[j]] || n[keys[i]] == n[keys[j]] && keys[i] < keys[j] })
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s ×%d", k, n[k])
	}
	return strings.Join(parts, ", ")
}

// metered wraps a tablet's transport, timing every call into m.
type metered struct {
	inner tablet.Transport
	m     *Metrics
}

var _ tablet.Transport = metered{}

func (t metered) RegisterDevice(ctx context.Context, deviceID, clientVersion string, schema int) (sync.Device, error) {
	start := time.Now()
	d, err := t.inner.RegisterDevice(ctx, deviceID, clientVersion, schema)
	t.m.observe("register", start, err)
	return d, err
}

func (t metered) Push(ctx context.Context, req sync.PushRequest) (sync.PushResponse, error) {
	t.m.pushing.Add(1)
	start := time.Now()
	resp, err := t.inner.Push(ctx, req)
	t.m.pushing.Add(-1)
	t.m.observe("push", start, err)
	if err == nil {
		replayed := 0
		for _, r := range resp.Results {
			if r.Replayed {
				replayed++
			}
		}
		t.m.mu.Lock()
		t.m.pushed += len(req.Changes)
		t.m.replayed += replayed
		t.m.mu.Unlock()
	}
	return resp, err
}

func (t metered) Pull(ctx context.Context, req sync.PullRequest) (sync.PullPage, error) {
	start := time.Now()
	page, err := t.inner.Pull(ctx, req)
	t.m.observe("pull", start, err)
	if err == nil {
		t.m.mu.Lock()
		t.m.pulled += len(page.Upserts) + len(page.Tombstones)
		t.m.mu.Unlock()
	}
	return page, err
}

func (t metered) Reconcile(ctx context.Context, deviceID string, pairs []sync.HashPair) (sync.ReconcileResult, error) {
	start := time.Now()
	res, err := t.inner.Reconcile(ctx, deviceID, pairs)
	t.m.observe("reconcile", start, err)
	return res, err
}
