package server_test

// End-to-end tests of the offline sync guarantees of docs/sync-protocol.md: nothing a coach
// records may be lost or duplicated, whatever the network does. Every test checks exact counts in
// the database and content hashes, not just the answers the server gives.

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"slices"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/synth"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/sync"
	"github.com/lookfor-edu/lookfor/tablet"
)

// ---------------------------------------------------------------------------------------------
// helpers (prefixed sg so they never collide with helpers of other test files in the package)

// Demo sites of the first district; the demo coach (coach-1) has A, B and C, coach-2 has C and D.
const (
	sgSiteA = "riverbend-usd.lincoln-es"
	sgSiteB = "riverbend-usd.cedar-grove-es"
	sgSiteC = "riverbend-usd.harriet-tubman-es"
	sgSiteD = "riverbend-usd.roosevelt-ms"
)

// sgCount runs a count query on the test database.
func sgCount(t *testing.T, e *testenv.Env, q string, args ...any) int {
	t.Helper()
	var n int
	if err := e.Store.Pool().QueryRow(context.Background(), q, args...).Scan(&n); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return n
}

// sgNextSeq is the device's next_seq as stored.
func sgNextSeq(t *testing.T, e *testenv.Env, dev string) int64 {
	t.Helper()
	var n int64
	if err := e.Store.Pool().QueryRow(context.Background(), `SELECT next_seq FROM devices WHERE device_id = $1`, dev).Scan(&n); err != nil {
		t.Fatalf("next_seq of %s: %v", dev, err)
	}
	return n
}

// sgRevisions is every kept revision: the current one (observations) and the history
// (observation_revisions), whether or not the history also holds the current revision.
const sgRevisions = `(SELECT observation_id, revision, content_hash FROM observation_revisions
	UNION SELECT observation_id, revision, content_hash FROM observations) AS kept`

// sgCounts checks the exact number of observation rows and of kept revisions in the database.
func sgCounts(t *testing.T, e *testenv.Env, observations, revisions int) {
	t.Helper()
	if n := sgCount(t, e, `SELECT count(*) FROM observations`); n != observations {
		t.Fatalf("observations: %d rows, want %d", n, observations)
	}
	if n := sgCount(t, e, `SELECT count(*) FROM `+sgRevisions); n != revisions {
		t.Fatalf("kept revisions: %d, want %d", n, revisions)
	}
	if n := sgCount(t, e, `SELECT count(*) FROM observation_revisions r JOIN observations o USING (district_id, observation_id)
		WHERE r.revision > o.revision`); n != 0 {
		t.Fatalf("%d history rows are newer than their observation", n)
	}
}

// sgStored checks that each record is stored exactly once, at revision rev, with its content and
// hash, and that revisions 1..rev are all kept, exactly once each.
func sgStored(t *testing.T, e *testenv.Env, rev int, recs ...observation.Record) {
	t.Helper()
	ctx := context.Background()
	for _, r := range recs {
		rows, err := e.Store.Pool().Query(ctx, `SELECT revision, content_hash, content FROM observations WHERE observation_id = $1`, r.ID)
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		for rows.Next() {
			n++
			var got int
			var hash string
			var content []byte
			if err := rows.Scan(&got, &hash, &content); err != nil {
				t.Fatal(err)
			}
			var stored observation.Record
			if err := json.Unmarshal(content, &stored); err != nil {
				t.Fatal(err)
			}
			if got != rev || hash != r.Hash() || stored.Hash() != hash {
				t.Fatalf("observation %s: revision %d hash %s (content hashes to %s), want revision %d hash %s", r.ID, got, hash, stored.Hash(), rev, r.Hash())
			}
		}
		rows.Close()
		if n != 1 {
			t.Fatalf("observation %s: %d rows, want 1", r.ID, n)
		}
		if n := sgCount(t, e, `SELECT count(*) FROM `+sgRevisions+` WHERE observation_id = $1`, r.ID); n != rev {
			t.Fatalf("observation %s: %d kept revisions, want %d", r.ID, n, rev)
		}
		if n := sgCount(t, e, `SELECT count(DISTINCT revision) FROM `+sgRevisions+` WHERE observation_id = $1 AND revision BETWEEN 1 AND $2`, r.ID, rev); n != rev {
			t.Fatalf("observation %s: revisions 1..%d are not all kept (%d)", r.ID, rev, n)
		}
	}
}

// sgKept reports whether revision rev of id is kept with hash.
func sgKept(t *testing.T, e *testenv.Env, id string, rev int, hash string) bool {
	t.Helper()
	return sgCount(t, e, `SELECT count(*) FROM `+sgRevisions+` WHERE observation_id = $1 AND revision = $2 AND content_hash = $3`, id, rev, hash) == 1
}

// sgConn opens a separate client connection to addr.
func sgConn(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	c, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func sgGRPCAddr(e *testenv.Env) string {
	a, _ := e.Server.Addrs()
	return a.String()
}

// sgTransport is a tablet transport calling as p over conn.
func sgTransport(t *testing.T, e *testenv.Env, conn grpc.ClientConnInterface, p observation.Principal) *server.Transport {
	t.Helper()
	return e.Transport(t, conn, p)
}

// sgPush pushes changes and fails the test on a call error or a wrong number of results.
func sgPush(t *testing.T, tr tablet.Transport, dev, cursor string, changes ...sync.Change) sync.PushResponse {
	t.Helper()
	resp, err := tr.Push(context.Background(), sync.PushRequest{DeviceID: dev, Cursor: cursor, Changes: changes, ClientVersion: "sg-test", SchemaVersion: 1})
	if err != nil {
		t.Fatalf("push: %v", err)
	}
	if len(resp.Results) != len(changes) {
		t.Fatalf("push: %d results for %d changes", len(resp.Results), len(changes))
	}
	return resp
}

// sgApplied checks that results are fresh applications of recs at revision 1.
func sgApplied(t *testing.T, res []sync.Result, firstSeq int64, replayed bool, recs ...observation.Record) {
	t.Helper()
	if len(res) != len(recs) {
		t.Fatalf("%d results for %d records", len(res), len(recs))
	}
	for i, r := range res {
		if r.Seq != firstSeq+int64(i) || r.ObservationID != recs[i].ID || r.Status != sync.StatusApplied || r.Revision != 1 ||
			r.ContentHash != recs[i].Hash() || r.Replayed != replayed {
			t.Fatalf("result %d: %+v; want seq %d applied revision 1 hash %s replayed %v", i, r, firstSeq+int64(i), recs[i].Hash(), replayed)
		}
	}
}

// sgSameResult compares two results of one change, ignoring Replayed.
func sgSameResult(a, b sync.Result) bool {
	a.Replayed, b.Replayed = false, false
	as, bs := a.Server, b.Server
	a.Server, b.Server = nil, nil
	if a != b {
		return false
	}
	if (as == nil) != (bs == nil) {
		return false
	}
	return as == nil || (as.ContentHash == bs.ContentHash && as.Revision == bs.Revision)
}

// sgRecords generates n valid records observed by observer in classrooms of the given sites.
func sgRecords(t *testing.T, e *testenv.Env, seed int64, observer observation.Principal, sites []string, n int, status observation.RecordStatus) []observation.Record {
	t.Helper()
	var rooms []observation.Classroom
	for _, c := range e.Roster.Classrooms {
		if c.DistrictID == observer.DistrictID && slices.Contains(sites, c.SiteID) {
			rooms = append(rooms, c)
		}
	}
	if len(rooms) == 0 {
		t.Fatalf("no classrooms at %v", sites)
	}
	var groups []observation.StudentGroup
	for _, d := range e.Roster.Districts {
		if d.ID == observer.DistrictID {
			groups = d.Settings.StudentGroups
		}
	}
	rubric := observation.DefaultRubricVersion(time.Now())
	g := synth.New(seed)
	start := time.Now().UTC().Add(-time.Duration(n+1) * time.Minute)
	return g.Batch(n, func(i int) synth.Input {
		return synth.Input{Classroom: rooms[i%len(rooms)], Observer: observer, Rubric: rubric, StudentGroups: groups,
			When: start.Add(time.Duration(i) * time.Minute), Status: status}
	})
}

// sgPulled is everything a walk of pull pages returned.
type sgPulled struct {
	Upserts    map[string]observation.StoredObservation
	Tombstones map[string]sync.TombstoneReason
	Rubrics    []sync.RubricChange
	Cursor     string
	Pages      int
	Reset      bool
}

// sgPullAll pulls from cursor until has_more is false. Every row must arrive exactly once,
// rubric changes only on the first page, and no page may exceed limit.
func sgPullAll(t *testing.T, tr tablet.Transport, dev, cursor string, limit int) sgPulled {
	t.Helper()
	out := sgPulled{Upserts: map[string]observation.StoredObservation{}, Tombstones: map[string]sync.TombstoneReason{}}
	for {
		page, err := tr.Pull(context.Background(), sync.PullRequest{DeviceID: dev, Cursor: cursor, Limit: limit})
		if err != nil {
			t.Fatalf("pull page %d: %v", out.Pages+1, err)
		}
		out.Pages++
		if page.Reset {
			out.Reset = true
			return out
		}
		if out.Pages > 1 && len(page.Rubrics) > 0 {
			t.Fatalf("page %d carries rubric changes; they belong on the first page", out.Pages)
		}
		out.Rubrics = append(out.Rubrics, page.Rubrics...)
		if limit > 0 && len(page.Upserts)+len(page.Tombstones) > limit {
			t.Fatalf("page %d has %d rows, limit %d", out.Pages, len(page.Upserts)+len(page.Tombstones), limit)
		}
		for _, o := range page.Upserts {
			if _, dup := out.Upserts[o.ID]; dup {
				t.Fatalf("observation %s returned twice in one pull sequence", o.ID)
			}
			if o.Record.Hash() != o.ContentHash {
				t.Fatalf("pulled %s hashes to %s, stored hash %s", o.ID, o.Record.Hash(), o.ContentHash)
			}
			out.Upserts[o.ID] = o
		}
		for _, ts := range page.Tombstones {
			if _, dup := out.Tombstones[ts.ObservationID]; dup {
				t.Fatalf("tombstone %s returned twice in one pull sequence", ts.ObservationID)
			}
			if _, dup := out.Upserts[ts.ObservationID]; dup {
				t.Fatalf("%s returned as upsert and tombstone in one pull sequence", ts.ObservationID)
			}
			out.Tombstones[ts.ObservationID] = ts.Reason
		}
		cursor = page.Cursor
		if !page.HasMore {
			break
		}
		if out.Pages > 20000 {
			t.Fatal("pull never ends")
		}
	}
	out.Cursor = cursor
	return out
}

// sgStatus checks a raw gRPC error's code and, when reason is set, its ErrorInfo reason.
func sgStatus(t *testing.T, err error, code codes.Code, reason string) *status.Status {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %s %s", code, reason)
	}
	st, ok := status.FromError(err)
	if !ok {
		t.Fatalf("not a status: %v", err)
	}
	if st.Code() != code {
		t.Fatalf("code %s (%q), want %s", st.Code(), st.Message(), code)
	}
	if reason != "" {
		got := ""
		for _, d := range st.Details() {
			if ei, ok := d.(*errdetails.ErrorInfo); ok {
				got = ei.GetReason()
			}
		}
		if got != reason {
			t.Fatalf("reason %q (%q), want %q", got, st.Message(), reason)
		}
	}
	return st
}

// sgFields returns the BadRequest field violations of a status.
func sgFields(st *status.Status) []string {
	var out []string
	for _, d := range st.Details() {
		if br, ok := d.(*errdetails.BadRequest); ok {
			for _, v := range br.GetFieldViolations() {
				out = append(out, v.GetField())
			}
		}
	}
	return out
}

// sgKind checks a transport (domain) error's kind and, when set, reason.
func sgKind(t *testing.T, err error, kind observation.Kind, reason string) *observation.Error {
	t.Helper()
	var de *observation.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a domain error; want %s", err, err, kind)
	}
	if de.Kind != kind || (reason != "" && de.Reason != reason) {
		t.Fatalf("error kind %s reason %q (%v); want %s %q", de.Kind, de.Reason, err, kind, reason)
	}
	return de
}

// sgPushRetrying pushes, retrying UNAVAILABLE answers (e.g. a deadlock victim) a few times.
func sgPushRetrying(tr tablet.Transport, req sync.PushRequest) (sync.PushResponse, error) {
	var err error
	for range 10 {
		var resp sync.PushResponse
		resp, err = tr.Push(context.Background(), req)
		if err == nil || observation.KindOf(err) != observation.KindUnavailable {
			return resp, err
		}
		time.Sleep(50 * time.Millisecond)
	}
	return sync.PushResponse{}, err
}

// sgDistrictRubric creates, as the demo district admin, a district rubric with the default
// rubric's content, publishes version 1 and, when retire is set, retires it.
func sgDistrictRubric(t *testing.T, e *testenv.Env, id string, publish, retire bool) {
	t.Helper()
	da := e.Users[observation.RoleDistrictAdmin]
	ctx := testenv.Ctx(e.Token(t, da))
	rc := pb.NewRubricServiceClient(e.GRPC)
	got, err := rc.GetRubricVersion(ctx, &pb.GetRubricVersionRequest{RubricId: observation.DefaultRubricID, Version: "latest", Language: "*"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rc.CreateRubric(ctx, &pb.CreateRubricRequest{OwnerId: da.DistrictID, RubricId: id, Content: got.GetVersion().GetContent()}); err != nil {
		t.Fatal(err)
	}
	if publish {
		if _, err := rc.PublishVersion(ctx, &pb.PublishVersionRequest{RubricId: id, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if retire {
		if _, err := rc.RetireVersion(ctx, &pb.RetireVersionRequest{RubricId: id, Version: 1}); err != nil {
			t.Fatal(err)
		}
	}
}

// sgProxy is a TCP proxy that can silently drop everything the server sends: a response lost
// on the way back to the tablet.
type sgProxy struct {
	addr string
	drop atomic.Bool
	mu   gosync.Mutex
	open []net.Conn
}

func sgLossyProxy(t *testing.T, target string) *sgProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &sgProxy{addr: ln.Addr().String()}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.open = append(p.open, c, s)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(s, c); s.Close() }()
			go func() {
				buf := make([]byte, 32<<10)
				for {
					n, err := s.Read(buf)
					if n > 0 && !p.drop.Load() {
						if _, werr := c.Write(buf[:n]); werr != nil {
							break
						}
					}
					if err != nil {
						break
					}
				}
				c.Close()
			}()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		p.mu.Lock()
		defer p.mu.Unlock()
		for _, c := range p.open {
			c.Close()
		}
	})
	return p
}

// sgDistrictRubricRetire retires version 1 of a district rubric as the demo district admin.
func sgDistrictRubricRetire(t *testing.T, e *testenv.Env, id string) {
	t.Helper()
	ctx := testenv.Ctx(e.TokenFor(t, observation.RoleDistrictAdmin))
	if _, err := pb.NewRubricServiceClient(e.GRPC).RetireVersion(ctx, &pb.RetireVersionRequest{RubricId: id, Version: 1}); err != nil {
		t.Fatal(err)
	}
}
