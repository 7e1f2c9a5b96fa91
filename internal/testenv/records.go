package testenv

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/grpc"

	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/sync"
)

// Records generates n valid submitted records observed by p in classrooms of p's sites.
func (e *Env) Records(t testing.TB, seed int64, p observation.Principal, n int) []observation.Record {
	t.Helper()
	var rooms []observation.Classroom
	for _, c := range e.Roster.Classrooms {
		if c.DistrictID == p.DistrictID && (p.Role == observation.RoleDistrictAdmin || slices.Contains(p.SiteIDs, c.SiteID)) {
			rooms = append(rooms, c)
		}
	}
	var groups []observation.StudentGroup
	for _, d := range e.Roster.Districts {
		if d.ID == p.DistrictID {
			groups = d.Settings.StudentGroups
		}
	}
	if len(rooms) == 0 {
		t.Fatalf("no classrooms in scope of %s", p.UserID)
	}
	rubric := observation.DefaultRubricVersion(time.Now())
	g := synth.New(seed)
	start := time.Now().UTC().Add(-time.Duration(n+1) * time.Minute)
	return g.Batch(n, func(i int) synth.Input {
		return synth.Input{Classroom: rooms[i%len(rooms)], Observer: p, Rubric: rubric, StudentGroups: groups,
			When: start.Add(time.Duration(i) * time.Minute), Status: observation.RecordSubmitted}
	})
}

// Device registers a new device for p and returns a transport that calls as p (see Transport).
func (e *Env) Device(t testing.TB, p observation.Principal) (*server.Transport, string) {
	t.Helper()
	tr := e.Transport(t, e.GRPC, p)
	id := uuid.Must(uuid.NewV7()).String()
	if _, err := tr.RegisterDevice(context.Background(), id, "test", 1); err != nil {
		t.Fatalf("register device: %v", err)
	}
	return tr, id
}

// Transport returns a transport over conn that calls as p. Before every call it makes the roster
// say what p says (EnsureRoster): tests that give one person different sites through different
// transports change the roster between calls, as a district admin would.
func (e *Env) Transport(t testing.TB, conn grpc.ClientConnInterface, p observation.Principal) *server.Transport {
	t.Helper()
	tok := e.Token(t, p)
	return server.NewTransport(conn, func(context.Context) (string, error) {
		if err := e.ensureRoster(p); err != nil {
			return "", err
		}
		return tok, nil
	})
}

// Changes wraps records as upserts with consecutive seqs starting at first.
func Changes(first int64, recs ...observation.Record) []sync.Change {
	out := make([]sync.Change, len(recs))
	for i, r := range recs {
		out[i] = sync.Change{Seq: first + int64(i), Op: sync.OpUpsert, Record: r, ObservationID: r.ID}
	}
	return out
}
