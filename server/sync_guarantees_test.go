package server_test

// End-to-end tests of the offline sync guarantees of docs/sync-protocol.md: nothing a coach
// records may be lost or duplicated, whatever the network does. Every test checks exact counts in
// the database and content hashes, not just the answers the server gives.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"slices"
	"strings"
	gosync "sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/lookfor-edu/lookfor/gen/lookfor/v1"
	"github.com/lookfor-edu/lookfor/internal/demo"
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

// ---------------------------------------------------------------------------------------------
// 1. lost responses

func TestSyncGuaranteeLostResponse(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)

	// A batch pushed twice (the first response never reached the tablet): one row each.
	recs := e.Records(t, 11, coach, 20)
	first := sgPush(t, tr, dev, "", testenv.Changes(1, recs...)...)
	sgApplied(t, first.Results, 1, false, recs...)
	for round := range 3 {
		again := sgPush(t, tr, dev, "", testenv.Changes(1, recs...)...)
		sgApplied(t, again.Results, 1, true, recs...)
		for i := range again.Results {
			if !sgSameResult(again.Results[i], first.Results[i]) {
				t.Fatalf("round %d: replay %d differs: %+v vs %+v", round, i, again.Results[i], first.Results[i])
			}
		}
	}
	sgCounts(t, e, 20, 20)
	sgStored(t, e, 1, recs...)
	if n := sgNextSeq(t, e, dev); n != 21 {
		t.Fatalf("next_seq %d, want 21", n)
	}

	// The server applies the push but its response is lost on the wire; the tablet gives up
	// after its deadline and retries on a new connection.
	proxy := sgLossyProxy(t, sgGRPCAddr(e))
	lossy := sgConn(t, proxy.addr)
	ltr := sgTransport(t, e, lossy, coach)
	if _, err := ltr.Pull(ctx, sync.PullRequest{DeviceID: dev, Limit: 1}); err != nil { // warm the connection up
		t.Fatal(err)
	}
	proxy.drop.Store(true)
	recs2 := e.Records(t, 12, coach, 5)
	dctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := ltr.Push(dctx, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(21, recs2...)})
	cancel()
	if err == nil {
		t.Fatal("the push answered although its response was dropped")
	}
	deadline := time.Now().Add(10 * time.Second)
	for sgNextSeq(t, e, dev) != 26 {
		if time.Now().After(deadline) {
			t.Fatalf("the server never applied the push whose response was lost (next_seq %d)", sgNextSeq(t, e, dev))
		}
		time.Sleep(20 * time.Millisecond)
	}
	lossy.Close()
	retry := sgPush(t, tr, dev, "", testenv.Changes(21, recs2...)...)
	sgApplied(t, retry.Results, 21, true, recs2...)
	sgCounts(t, e, 25, 25)
	sgStored(t, e, 1, recs2...)

	// A deadline that expires while the push is in flight, retried with growing deadlines until
	// an answer arrives: whichever attempts the server applied, each change is stored once.
	recs3 := e.Records(t, 13, coach, 60)
	changes3 := testenv.Changes(26, recs3...)
	var resp sync.PushResponse
	attempts, appliedButFailed := 0, 0
	for d := 100 * time.Microsecond; ; d = d * 5 / 4 {
		attempts++
		dctx, cancel := context.WithTimeout(ctx, d)
		resp, err = tr.Push(dctx, sync.PushRequest{DeviceID: dev, Changes: changes3})
		cancel()
		if err == nil {
			break
		}
		if observation.KindOf(err) != observation.KindUnavailable {
			t.Fatalf("a timed-out push answered %v; the tablet would not retry it", err)
		}
		if appliedButFailed == 0 && sgNextSeq(t, e, dev) == 86 {
			appliedButFailed = attempts // the server committed, the tablet saw an error
		}
		if d > 30*time.Second {
			t.Fatalf("no push succeeded: %v", err)
		}
	}
	t.Logf("deadline retries: %d attempts; first applied by failed attempt %d; answer replayed: %v", attempts, appliedButFailed, resp.Results[0].Replayed)
	if len(resp.Results) != len(recs3) {
		t.Fatalf("%d results", len(resp.Results))
	}
	replayed := resp.Results[0].Replayed
	sgApplied(t, resp.Results, 26, replayed, recs3...)
	final := sgPush(t, tr, dev, "", changes3...)
	sgApplied(t, final.Results, 26, true, recs3...)
	for i := range final.Results {
		if !sgSameResult(final.Results[i], resp.Results[i]) {
			t.Fatalf("replay %d differs: %+v vs %+v", i, final.Results[i], resp.Results[i])
		}
	}
	sgCounts(t, e, 85, 85)
	sgStored(t, e, 1, recs3...)
	if n := sgNextSeq(t, e, dev); n != 86 {
		t.Fatalf("next_seq %d, want 86", n)
	}
	if n := sgCount(t, e, `SELECT count(*) FROM push_results WHERE device_id = $1`, dev); n != 85 {
		t.Fatalf("%d stored results, want 85", n)
	}
}

// ---------------------------------------------------------------------------------------------
// 2. the same batch pushed concurrently over two connections

func TestSyncGuaranteeConcurrentIdenticalPushes(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	_, dev := e.Device(t, coach)
	conns := []*grpc.ClientConn{sgConn(t, sgGRPCAddr(e)), sgConn(t, sgGRPCAddr(e))}
	recs := e.Records(t, 21, coach, 100)
	req := sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(1, recs...)}

	const pushes = 8
	trs := make([]*server.Transport, pushes)
	for i := range trs {
		trs[i] = sgTransport(t, e, conns[i%2], coach)
	}
	resps := make([]sync.PushResponse, pushes)
	errs := make([]error, pushes)
	start := make(chan struct{})
	var wg gosync.WaitGroup
	for i := range pushes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			resps[i], errs[i] = sgPushRetrying(trs[i], req)
		}()
	}
	close(start)
	wg.Wait()

	fresh := make([]int, len(recs)) // per seq: how many responses applied it anew
	freshResponses := 0
	for i, r := range resps {
		if errs[i] != nil {
			t.Fatalf("push %d: %v", i, errs[i])
		}
		if len(r.Results) != len(recs) {
			t.Fatalf("push %d: %d results", i, len(r.Results))
		}
		n := 0
		for j, res := range r.Results {
			if res.Seq != int64(j+1) || res.ObservationID != recs[j].ID || res.Status != sync.StatusApplied || res.Revision != 1 || res.ContentHash != recs[j].Hash() {
				t.Fatalf("push %d result %d: %+v", i, j, res)
			}
			if !res.Replayed {
				fresh[j]++
				n++
			}
		}
		switch n {
		case 0:
		case len(recs):
			freshResponses++
		default:
			t.Fatalf("push %d applied %d of %d changes anew: a push is one transaction", i, n, len(recs))
		}
	}
	for j, n := range fresh {
		if n != 1 {
			t.Fatalf("seq %d applied anew by %d responses, want exactly 1", j+1, n)
		}
	}
	if freshResponses != 1 {
		t.Fatalf("%d responses applied the batch, want 1", freshResponses)
	}
	sgCounts(t, e, 100, 100)
	sgStored(t, e, 1, recs...)
	if n := sgNextSeq(t, e, dev); n != 101 {
		t.Fatalf("next_seq %d, want 101", n)
	}
	if n := sgCount(t, e, `SELECT count(*) FROM push_results WHERE device_id = $1`, dev); n != 100 {
		t.Fatalf("%d stored results, want 100", n)
	}
}

// ---------------------------------------------------------------------------------------------
// 3. concurrent amendments: one applies, one conflicts, a person resolves

func TestSyncGuaranteeConflictKeepsBothVersions(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	da := e.Users[observation.RoleDistrictAdmin]
	trCoach, devCoach := e.Device(t, coach)
	trDA, devDA := e.Device(t, da)
	obsClient := pb.NewObservationServiceClient(e.GRPC)
	coachCtx := testenv.Ctx(e.Token(t, coach))
	coachTok := e.Token(t, coach)

	recs := e.Records(t, 31, coach, 3)
	sgApplied(t, sgPush(t, trCoach, devCoach, "", testenv.Changes(1, recs...)...).Results, 1, false, recs...)

	// Both amend every record from base revision 1, at the same time.
	coachAm, daAm := make([]observation.Record, 3), make([]observation.Record, 3)
	coachCh, daCh := make([]sync.Change, 3), make([]sync.Change, 3)
	for i, r := range recs {
		coachAm[i], daAm[i] = r, r
		coachAm[i].NextSteps = fmt.Sprintf("coach amendment %d: plan a follow-up visit", i)
		daAm[i].NextSteps = fmt.Sprintf("district admin amendment %d: share at the PLC", i)
		daAm[i].LessonFocus = "amended focus"
		coachCh[i] = sync.Change{Seq: int64(4 + i), Op: sync.OpUpsert, Record: coachAm[i], ObservationID: r.ID, BaseRevision: 1}
		daCh[i] = sync.Change{Seq: int64(1 + i), Op: sync.OpUpsert, Record: daAm[i], ObservationID: r.ID, BaseRevision: 1}
	}
	var coachResp, daResp sync.PushResponse
	var coachErr, daErr error
	var wg gosync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		coachResp, coachErr = sgPushRetrying(trCoach, sync.PushRequest{DeviceID: devCoach, Changes: coachCh})
	}()
	go func() {
		defer wg.Done()
		daResp, daErr = sgPushRetrying(trDA, sync.PushRequest{DeviceID: devDA, Changes: daCh})
	}()
	wg.Wait()
	if coachErr != nil || daErr != nil {
		t.Fatalf("pushes: %v / %v", coachErr, daErr)
	}

	type outcome struct {
		conflictID string
		proposed   observation.Record
		winner     observation.Record
	}
	outs := make([]outcome, 3)
	for i := range recs {
		c, d := coachResp.Results[i], daResp.Results[i]
		var applied, conflict sync.Result
		var o outcome
		switch {
		case c.Status == sync.StatusApplied && d.Status == sync.StatusConflict:
			applied, conflict, o.winner, o.proposed = c, d, coachAm[i], daAm[i]
		case d.Status == sync.StatusApplied && c.Status == sync.StatusConflict:
			applied, conflict, o.winner, o.proposed = d, c, daAm[i], coachAm[i]
		default:
			t.Fatalf("record %d: coach %+v, district admin %+v; want one applied and one conflict", i, c, d)
		}
		if applied.Revision != 2 || applied.ContentHash != o.winner.Hash() {
			t.Fatalf("record %d applied: %+v", i, applied)
		}
		if conflict.Reason != "STALE_BASE" || conflict.ConflictID == "" || conflict.Server == nil ||
			conflict.Server.Revision != 2 || conflict.Server.ContentHash != o.winner.Hash() {
			t.Fatalf("record %d conflict: %+v (server %+v)", i, conflict, conflict.Server)
		}
		o.conflictID = conflict.ConflictID
		outs[i] = o
	}
	sgCounts(t, e, 3, 6)
	for i, o := range outs {
		sgStored(t, e, 2, o.winner)
		if !sgKept(t, e, recs[i].ID, 1, recs[i].Hash()) {
			t.Fatalf("record %d: revision 1 is gone", i)
		}
		var proposed []byte
		var hash, st string
		var base, srv int
		if err := e.Store.Pool().QueryRow(ctx, `SELECT proposed, proposed_hash, base_revision, server_revision, status FROM conflicts WHERE conflict_id = $1`,
			o.conflictID).Scan(&proposed, &hash, &base, &srv, &st); err != nil {
			t.Fatal(err)
		}
		var pr observation.Record
		if err := json.Unmarshal(proposed, &pr); err != nil {
			t.Fatal(err)
		}
		if pr.Hash() != o.proposed.Hash() || hash != o.proposed.Hash() || base != 1 || srv != 2 || st != "open" {
			t.Fatalf("conflict row %d: hash %s/%s want %s, base %d server %d status %s", i, pr.Hash(), hash, o.proposed.Hash(), base, srv, st)
		}
	}
	if n := sgCount(t, e, `SELECT count(*) FROM conflicts`); n != 3 {
		t.Fatalf("%d conflicts, want 3", n)
	}

	// The observer sees them over gRPC and REST.
	list, err := obsClient.ListConflicts(coachCtx, &pb.ListConflictsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*pb.Conflict{}
	for _, c := range list.GetConflicts() {
		got[c.GetConflictId()] = c
	}
	r := e.Do(t, http.MethodGet, "/v1/conflicts", coachTok, "")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /v1/conflicts: %d %s", r.Status, r.Body)
	}
	var restList pb.ListConflictsResponse
	if err := protojson.Unmarshal([]byte(r.Body), &restList); err != nil {
		t.Fatal(err)
	}
	gotREST := map[string]*pb.Conflict{}
	for _, c := range restList.GetConflicts() {
		gotREST[c.GetConflictId()] = c
	}
	if len(got) != 3 || len(gotREST) != 3 {
		t.Fatalf("listed %d conflicts over gRPC, %d over REST; want 3", len(got), len(gotREST))
	}
	for i, o := range outs {
		for via, m := range map[string]map[string]*pb.Conflict{"gRPC": got, "REST": gotREST} {
			c := m[o.conflictID]
			if c == nil || c.GetObservationId() != recs[i].ID || c.GetProposedContentHash() != o.proposed.Hash() ||
				c.GetServer().GetRevision() != 2 || c.GetServer().GetContentHash() != o.winner.Hash() ||
				c.GetStatus() != pb.ConflictStatus_CONFLICT_STATUS_OPEN || c.GetBaseRevision() != 1 ||
				server.RecordFromPB(c.GetProposed()).Hash() != o.proposed.Hash() {
				t.Fatalf("%s conflict %d: %v", via, i, c)
			}
		}
	}

	resolve := func(id string, choice pb.ConflictChoice, merged *pb.ObservationRecord) (*pb.ResolveConflictResponse, error) {
		return obsClient.ResolveConflict(coachCtx, &pb.ResolveConflictRequest{ConflictId: id, Choice: choice, Merged: merged})
	}
	audits := func(id string) int {
		return sgCount(t, e, `SELECT count(*) FROM audit_log WHERE action = 'conflict.resolve' AND resource_id = $1`, id)
	}
	conflictState := func(id string) (st, resolution string, rev int) {
		if err := e.Store.Pool().QueryRow(ctx, `SELECT status, coalesce(resolution, ''), coalesce(resolved_revision, 0) FROM conflicts WHERE conflict_id = $1`, id).
			Scan(&st, &resolution, &rev); err != nil {
			t.Fatal(err)
		}
		return
	}

	// take_proposed: revision 3 is the proposed content.
	o := outs[0]
	res, err := resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_TAKE_PROPOSED, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetObservation().GetRevision() != 3 || res.GetObservation().GetContentHash() != o.proposed.Hash() ||
		res.GetConflict().GetStatus() != pb.ConflictStatus_CONFLICT_STATUS_RESOLVED {
		t.Fatalf("take_proposed: %v", res)
	}
	sgStored(t, e, 3, o.proposed)
	if st, how, rev := conflictState(o.conflictID); st != "resolved" || how != sync.ChoiceTakeProposed || rev != 3 {
		t.Fatalf("conflict after take_proposed: %s %s %d", st, how, rev)
	}
	if n := audits(o.conflictID); n != 1 {
		t.Fatalf("%d audit rows for the resolution, want 1", n)
	}
	_, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_KEEP_SERVER, nil)
	sgStatus(t, err, codes.FailedPrecondition, "CONFLICT_RESOLVED")
	_, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_TAKE_PROPOSED, nil)
	sgStatus(t, err, codes.FailedPrecondition, "CONFLICT_RESOLVED")
	sgStored(t, e, 3, o.proposed)
	if n := audits(o.conflictID); n != 1 {
		t.Fatalf("%d audit rows after resolving twice, want 1", n)
	}

	// keep_server: no new revision, the proposal stays in the conflict row.
	o = outs[1]
	res, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_KEEP_SERVER, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res.GetObservation().GetRevision() != 2 || res.GetObservation().GetContentHash() != o.winner.Hash() {
		t.Fatalf("keep_server: %v", res)
	}
	sgStored(t, e, 2, o.winner)
	if st, how, _ := conflictState(o.conflictID); st != "resolved" || how != sync.ChoiceKeepServer {
		t.Fatalf("conflict after keep_server: %s %s", st, how)
	}
	if n := sgCount(t, e, `SELECT count(*) FROM conflicts WHERE conflict_id = $1 AND proposed_hash = $2`, o.conflictID, o.proposed.Hash()); n != 1 {
		t.Fatal("keep_server dropped the proposed version")
	}
	if n := audits(o.conflictID); n != 1 {
		t.Fatalf("%d audit rows for keep_server, want 1", n)
	}

	// merge: an invalid merged record names its field; a valid one becomes revision 3.
	o = outs[2]
	bad := o.winner
	bad.Scores = slices.Clone(bad.Scores)
	bad.Scores[0].Level, bad.Scores[0].NotObserved = 9, false
	_, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_MERGE, server.RecordToPB(bad))
	st := sgStatus(t, err, codes.InvalidArgument, observation.ReasonLevelOutOfRange)
	if f := sgFields(st); len(f) != 1 || f[0] != "merged.scores[0].level" {
		t.Fatalf("merge with a bad level: field violations %v", f)
	}
	_, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_MERGE, nil)
	sgStatus(t, err, codes.InvalidArgument, "")
	unstorable := o.winner
	unstorable.ClassroomID += "\x00"
	_, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_MERGE, server.RecordToPB(unstorable))
	if f := sgFields(sgStatus(t, err, codes.InvalidArgument, "")); len(f) != 1 || f[0] != "merged.classroom_id" {
		t.Fatalf("merge with a NUL in the classroom id: field violations %v", f)
	}
	if st, _, _ := conflictState(o.conflictID); st != "open" {
		t.Fatalf("a failed merge changed the conflict to %s", st)
	}
	sgStored(t, e, 2, o.winner)
	merged := o.winner
	merged.NextSteps = o.winner.NextSteps + " / " + o.proposed.NextSteps
	merged.LessonFocus = "merged focus"
	res, err = resolve(o.conflictID, pb.ConflictChoice_CONFLICT_CHOICE_MERGE, server.RecordToPB(merged))
	if err != nil {
		t.Fatal(err)
	}
	if res.GetObservation().GetRevision() != 3 || res.GetObservation().GetContentHash() != merged.Hash() {
		t.Fatalf("merge: %v", res)
	}
	sgStored(t, e, 3, merged)
	if st, how, rev := conflictState(o.conflictID); st != "resolved" || how != sync.ChoiceMerge || rev != 3 {
		t.Fatalf("conflict after merge: %s %s %d", st, how, rev)
	}
	if n := audits(o.conflictID); n != 1 {
		t.Fatalf("%d audit rows for merge, want 1", n)
	}

	open, err := obsClient.ListConflicts(coachCtx, &pb.ListConflictsRequest{})
	if err != nil {
		t.Fatal(err)
	}
	done, err := obsClient.ListConflicts(coachCtx, &pb.ListConflictsRequest{Status: pb.ConflictStatus_CONFLICT_STATUS_RESOLVED})
	if err != nil {
		t.Fatal(err)
	}
	if len(open.GetConflicts()) != 0 || len(done.GetConflicts()) != 3 {
		t.Fatalf("after resolving: %d open, %d resolved", len(open.GetConflicts()), len(done.GetConflicts()))
	}
	sgCounts(t, e, 3, 8)
}

// ---------------------------------------------------------------------------------------------
// 4. a transaction that commits late is never skipped by a pull

func TestSyncGuaranteeLateCommitNotSkipped(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)

	insertLate := func(rec observation.Record) func() {
		t.Helper()
		tx, err := e.Store.Pool().Begin(ctx)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = tx.Rollback(ctx) })
		content, err := json.Marshal(rec)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO observations (district_id, observation_id, site_id, classroom_id, teacher_id, observer_id,
				status, kind, rubric_id, rubric_version, started_at, revision, content, content_hash, deleted, updated_by, committed_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, 1, $12, $13, false, $6, now() - interval '1 hour')`,
			rec.DistrictID, rec.ID, rec.SiteID, rec.ClassroomID, rec.TeacherID, rec.ObserverID, string(rec.Status), string(rec.Kind),
			rec.RubricID, rec.RubricVersion, rec.StartedAt, content, rec.Hash()); err != nil {
			t.Fatal(err)
		}
		return func() {
			if err := tx.Commit(ctx); err != nil {
				t.Fatal(err)
			}
		}
	}

	late := e.Records(t, 41, coach, 1)[0]
	commitLate := insertLate(late) // holds an xid older than everything pushed below

	others := e.Records(t, 42, coach, 10)
	sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(1, others...)...).Results, 1, false, others...)
	p1 := sgPullAll(t, tr, dev, "", 0)
	if len(p1.Upserts) != 10 || len(p1.Tombstones) != 0 {
		t.Fatalf("first pull: %d upserts, %d tombstones; want 10, 0", len(p1.Upserts), len(p1.Tombstones))
	}
	if _, ok := p1.Upserts[late.ID]; ok {
		t.Fatal("an uncommitted row was pulled")
	}
	commitLate()
	p2 := sgPullAll(t, tr, dev, p1.Cursor, 0)
	if len(p2.Upserts) != 1 || p2.Upserts[late.ID].ContentHash != late.Hash() {
		t.Fatalf("pull after the late commit: %d upserts %v; want exactly the late row %s", len(p2.Upserts), p2.Upserts, late.ID)
	}
	if p3 := sgPullAll(t, tr, dev, p2.Cursor, 0); len(p3.Upserts)+len(p3.Tombstones) != 0 {
		t.Fatalf("pull with nothing new returned %d rows", len(p3.Upserts)+len(p3.Tombstones))
	}

	// Paging with page_size 1 walks every row exactly once, while another late transaction is
	// open and more pushes commit mid-walk.
	more := e.Records(t, 43, coach, 7)
	sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(11, more...)...).Results, 11, false, more...)
	late2 := e.Records(t, 44, coach, 1)[0]
	commitLate2 := insertLate(late2)
	want := map[string]string{late.ID: late.Hash()}
	for _, r := range append(slices.Clone(others), more...) {
		want[r.ID] = r.Hash()
	}
	seen := map[string]int{}
	cursor := ""
	pages := 0
	midWalk := e.Records(t, 45, coach, 3)
	for {
		page, err := tr.Pull(ctx, sync.PullRequest{DeviceID: dev, Cursor: cursor, Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		if len(page.Upserts)+len(page.Tombstones) > 1 {
			t.Fatalf("page %d has %d rows", pages, len(page.Upserts)+len(page.Tombstones))
		}
		if pages == 1 && len(page.Rubrics) == 0 {
			t.Fatal("the first page carries no rubric changes")
		}
		if pages > 1 && len(page.Rubrics) != 0 {
			t.Fatalf("page %d carries rubric changes", pages)
		}
		for _, o := range page.Upserts {
			seen[o.ID]++
			if want[o.ID] != o.ContentHash {
				t.Fatalf("page %d: unexpected row %s hash %s", pages, o.ID, o.ContentHash)
			}
		}
		if pages == 3 { // commits during the walk belong to the next delta
			sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(18, midWalk...)...).Results, 18, false, midWalk...)
		}
		cursor = page.Cursor
		if !page.HasMore {
			break
		}
		if pages > 100 {
			t.Fatal("paging never ends")
		}
	}
	if len(seen) != len(want) || pages != len(want) {
		t.Fatalf("paging: %d pages, %d distinct rows; want %d", pages, len(seen), len(want))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("row %s returned %d times", id, n)
		}
	}
	commitLate2()
	delta := sgPullAll(t, tr, dev, cursor, 1)
	if len(delta.Upserts) != 4 || delta.Upserts[late2.ID].ContentHash != late2.Hash() {
		t.Fatalf("delta after the walk: %d upserts; want the 3 pushed mid-walk and the late row", len(delta.Upserts))
	}
	for _, r := range midWalk {
		if delta.Upserts[r.ID].ContentHash != r.Hash() {
			t.Fatalf("row %s pushed mid-walk is missing from the next delta", r.ID)
		}
	}
}

// ---------------------------------------------------------------------------------------------
// 5. bad items in the middle of a batch

func TestSyncGuaranteeBadItemsDoNotBlockBatch(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	sgDistrictRubric(t, e, "sg-retired", true, true)

	recs := e.Records(t, 51, coach, 100)
	outside := sgRecords(t, e, 52, coach, []string{sgSiteD}, 1, observation.RecordSubmitted)[0]
	type bad struct {
		reason, field string
	}
	bads := map[int]bad{}
	// seq 50: unknown dimension
	recs[49].Scores = slices.Clone(recs[49].Scores)
	recs[49].Scores[0].Dimension = "sg_no_such_dimension"
	bads[49] = bad{observation.RecordReasonUnknownDimension, "record.scores[0].dimension"}
	// seq 51: level out of range
	recs[50].Scores = slices.Clone(recs[50].Scores)
	recs[50].Scores[0].Level, recs[50].Scores[0].NotObserved = 9, false
	bads[50] = bad{observation.ReasonLevelOutOfRange, "record.scores[0].level"}
	// seq 52: a classroom at a site outside the coach's scope
	outside.ID = recs[51].ID
	recs[51] = outside
	bads[51] = bad{"UNKNOWN_CLASSROOM", "record.classroom_id"} // answered like a classroom that does not exist
	// seq 53: a device clock far in the future
	recs[52].StartedAt = time.Now().UTC().Add(90 * 24 * time.Hour)
	bads[52] = bad{sync.ReasonFutureTimestamp, "record.started_at"}
	// seq 54: a retired rubric version
	recs[53].RubricID, recs[53].RubricVersion = "sg-retired", 1
	bads[53] = bad{sync.ReasonRetiredRubric, "record.rubric_version"}
	// seq 55: an unknown rubric version
	recs[54].RubricVersion = 99
	bads[54] = bad{sync.ReasonUnknownRubric, "record.rubric_version"}

	changes := testenv.Changes(1, recs...)
	resp := sgPush(t, tr, dev, "", changes...)
	var good []observation.Record
	for i, r := range resp.Results {
		if b, ok := bads[i]; ok {
			if r.Status != sync.StatusRejected || r.Reason != b.reason || r.Field != b.field || r.Message == "" || r.Seq != int64(i+1) || r.ObservationID != recs[i].ID {
				t.Fatalf("change %d: %+v; want rejected %s at %s", i+1, r, b.reason, b.field)
			}
			continue
		}
		if r.Status != sync.StatusApplied || r.Revision != 1 || r.ContentHash != recs[i].Hash() || r.Seq != int64(i+1) {
			t.Fatalf("change %d: %+v; want applied", i+1, r)
		}
		good = append(good, recs[i])
	}
	sgCounts(t, e, 100-len(bads), 100-len(bads))
	sgStored(t, e, 1, good...)
	for i := range bads {
		if n := sgCount(t, e, `SELECT count(*) FROM observations WHERE observation_id = $1`, recs[i].ID); n != 0 {
			t.Fatalf("rejected change %d was stored", i+1)
		}
	}
	if n := sgNextSeq(t, e, dev); n != 101 {
		t.Fatalf("next_seq %d, want 101", n)
	}

	// The replay answers the same, rejections included; the device goes on.
	again := sgPush(t, tr, dev, "", changes...)
	for i := range again.Results {
		if !again.Results[i].Replayed || !sgSameResult(again.Results[i], resp.Results[i]) {
			t.Fatalf("replay %d: %+v vs %+v", i+1, again.Results[i], resp.Results[i])
		}
	}
	fixed := e.Records(t, 51, coach, 50)[49] // the original of seq 50, sent again under a new seq
	sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(101, fixed)...).Results, 101, false, fixed)
	sgCounts(t, e, 101-len(bads), 101-len(bads))
}

// Items that pass record validation but that the database cannot hold (a NUL character in a
// text, which jsonb refuses; a time past year 9999, which JSON cannot encode) are still only bad
// items: they must not fail the batch, or the device could never push again.
func TestSyncGuaranteeUnstorableItemsDoNotFailBatch(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	recs := e.Records(t, 55, coach, 8)
	sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(1, recs[0])...).Results, 1, false, recs[0])

	nulText := recs[1]
	nulText.NextSteps = "ask students to\x00 revoice"
	farAmend := recs[0]
	farAmend.StartedAt = time.Date(10001, 1, 1, 0, 0, 0, 0, time.UTC)
	nulEvidence := recs[2]
	nulEvidence.Scores = slices.Clone(nulEvidence.Scores)
	nulEvidence.Scores[0].Evidence = "T: why?\x00"
	draft := recs[3]
	draft.Status = observation.RecordDraft
	farDraft := draft
	farDraft.RecordedAt = time.Date(10001, 1, 1, 0, 0, 0, 0, time.UTC)
	nulConflict := recs[0]
	nulConflict.LessonFocus = "focus\x00"
	nulClassroom := recs[6]
	nulClassroom.ClassroomID += "\x00"
	nulRubric := recs[7]
	nulRubric.RubricID += "\x00"

	changes := []sync.Change{
		{Seq: 2, Op: sync.OpUpsert, Record: nulText, ObservationID: nulText.ID},
		{Seq: 3, Op: sync.OpUpsert, Record: farAmend, ObservationID: farAmend.ID, BaseRevision: 1},
		{Seq: 4, Op: sync.OpDelete, ObservationID: "bad\x00id"},
		{Seq: 5, Op: sync.OpUpsert, Record: recs[4], ObservationID: recs[4].ID},
		{Seq: 6, Op: sync.OpUpsert, Record: draft, ObservationID: draft.ID},
		{Seq: 7, Op: sync.OpUpsert, Record: farDraft, ObservationID: draft.ID},
		{Seq: 8, Op: sync.OpUpsert, Record: nulEvidence, ObservationID: nulEvidence.ID},
		{Seq: 9, Op: sync.OpUpsert, Record: recs[5], ObservationID: recs[5].ID},
		{Seq: 10, Op: sync.OpUpsert, Record: nulClassroom, ObservationID: nulClassroom.ID},
		{Seq: 11, Op: sync.OpUpsert, Record: nulRubric, ObservationID: nulRubric.ID},
	}
	resp, err := tr.Push(context.Background(), sync.PushRequest{DeviceID: dev, Changes: changes})
	if err != nil {
		t.Fatalf("a batch with unstorable items failed as a whole: %v", err)
	}
	batch := resp
	wantApplied := map[int64]bool{5: true, 6: true, 9: true}
	for _, r := range resp.Results {
		if wantApplied[r.Seq] {
			if r.Status != sync.StatusApplied {
				t.Fatalf("seq %d: %+v; want applied", r.Seq, r)
			}
			continue
		}
		if r.Status != sync.StatusRejected || r.Reason == "" || r.Message == "" {
			t.Fatalf("seq %d: %+v; want rejected with a reason", r.Seq, r)
		}
		if r.Seq != 4 && r.Field == "" {
			t.Fatalf("seq %d: %+v; want the offending field", r.Seq, r)
		}
	}
	if n := sgNextSeq(t, e, dev); n != 12 {
		t.Fatalf("next_seq %d, want 12", n)
	}
	// A stale amendment carrying a NUL is rejected too (it would be kept as a conflict).
	resp = sgPush(t, tr, dev, "", sync.Change{Seq: 12, Op: sync.OpUpsert, Record: recs[0], ObservationID: recs[0].ID, BaseRevision: 1})
	if r := resp.Results[0]; r.Status != sync.StatusDuplicate {
		t.Fatalf("identical content: %+v", r)
	}
	amend := recs[0]
	amend.NextSteps = "amended"
	sgPush(t, tr, dev, "", sync.Change{Seq: 13, Op: sync.OpUpsert, Record: amend, ObservationID: amend.ID, BaseRevision: 1})
	resp = sgPush(t, tr, dev, "", sync.Change{Seq: 14, Op: sync.OpUpsert, Record: nulConflict, ObservationID: nulConflict.ID, BaseRevision: 1})
	if r := resp.Results[0]; r.Status != sync.StatusRejected {
		t.Fatalf("stale amendment with a NUL: %+v", r)
	}
	again := sgPush(t, tr, dev, "", changes...)
	for i, r := range again.Results {
		if !r.Replayed || !sgSameResult(r, batch.Results[i]) {
			t.Fatalf("replay %d: %+v vs %+v", i, r, batch.Results[i])
		}
	}
	sgCounts(t, e, 4, 5)
}

// ---------------------------------------------------------------------------------------------
// 6. two servers on one database

func TestSyncGuaranteeTwoServers(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	e2 := e.Second(t)
	coach := e.Users[observation.RoleCoach]
	_, dev := e.Device(t, coach)
	trs := []*server.Transport{sgTransport(t, e, e.GRPC, coach), sgTransport(t, e2, e2.GRPC, coach)}

	recs := e.Records(t, 61, coach, 200)
	results := make([]sync.Result, len(recs)) // the first answer for each seq
	// Batches alternate between the servers; every batch is replayed on the other one.
	for k := range 6 {
		lo, hi := k*20, (k+1)*20
		first := sgPush(t, trs[k%2], dev, "", testenv.Changes(int64(lo+1), recs[lo:hi]...)...)
		sgApplied(t, first.Results, int64(lo+1), false, recs[lo:hi]...)
		copy(results[lo:hi], first.Results)
		replay := sgPush(t, trs[(k+1)%2], dev, "", testenv.Changes(int64(lo+1), recs[lo:hi]...)...)
		sgApplied(t, replay.Results, int64(lo+1), true, recs[lo:hi]...)
		for i := range replay.Results {
			if !sgSameResult(replay.Results[i], first.Results[i]) {
				t.Fatalf("batch %d: replay on the other server differs: %+v vs %+v", k, replay.Results[i], first.Results[i])
			}
		}
	}
	// The same new batch pushed to both servers at once, three times each, plus an overlapping
	// batch (half replay, half new) racing with the second half alone.
	type push struct {
		tr    *server.Transport
		first int64
		recs  []observation.Record
	}
	var jobs []push
	for i := range 6 {
		jobs = append(jobs, push{trs[i%2], 121, recs[120:160]})
	}
	var wg gosync.WaitGroup
	resps := make([]sync.PushResponse, len(jobs))
	errs := make([]error, len(jobs))
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps[i], errs[i] = sgPushRetrying(j.tr, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(j.first, j.recs...)})
		}()
	}
	wg.Wait()
	fresh := map[int64]int{}
	check := func(i int, j push, r sync.PushResponse, err error) {
		t.Helper()
		if err != nil {
			t.Fatalf("concurrent push %d: %v", i, err)
		}
		if len(r.Results) != len(j.recs) {
			t.Fatalf("concurrent push %d: %d results", i, len(r.Results))
		}
		for k, res := range r.Results {
			seq := j.first + int64(k)
			if res.Seq != seq || res.Status != sync.StatusApplied || res.Revision != 1 || res.ContentHash != j.recs[k].Hash() {
				t.Fatalf("concurrent push %d, seq %d: %+v", i, seq, res)
			}
			if !res.Replayed {
				fresh[seq]++
			}
		}
	}
	for i, j := range jobs {
		check(i, j, resps[i], errs[i])
	}
	jobs2 := []push{{trs[1], 141, recs[140:180]}, {trs[0], 161, recs[160:180]}, {trs[1], 161, recs[160:200]}, {trs[0], 181, recs[180:200]}}
	// seq 181.. can only apply after 161..180: pushes holding a gap get SEQUENCE_GAP; retry them.
	resps2 := make([]sync.PushResponse, len(jobs2))
	errs2 := make([]error, len(jobs2))
	for i, j := range jobs2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resps2[i], errs2[i] = sgPushRetrying(j.tr, sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(j.first, j.recs...)})
		}()
	}
	wg.Wait()
	for i, j := range jobs2 {
		if errs2[i] != nil {
			t.Fatal(errs2[i])
		}
		for k, res := range resps2[i].Results {
			seq := j.first + int64(k)
			switch {
			case res.Status == sync.StatusRejected && res.Reason == sync.ReasonSequenceGap:
				if seq <= 180 && j.first <= 161 {
					// 161..180 can never be a gap in a batch that starts at or before 161
					t.Fatalf("push %d seq %d: unexpected gap %+v", i, seq, res)
				}
			case res.Status == sync.StatusApplied && res.Revision == 1 && res.ContentHash == j.recs[k].Hash() && res.Seq == seq:
				if !res.Replayed {
					fresh[seq]++
				}
			default:
				t.Fatalf("push %d seq %d: %+v", i, seq, res)
			}
		}
	}
	// Whatever was held back is sent again, now in order.
	tail := sgPush(t, trs[0], dev, "", testenv.Changes(181, recs[180:]...)...)
	for k, res := range tail.Results {
		if res.Status != sync.StatusApplied || res.ContentHash != recs[180+k].Hash() {
			t.Fatalf("tail %d: %+v", k, res)
		}
		if !res.Replayed {
			fresh[int64(181+k)]++
		}
	}
	for seq := int64(121); seq <= 200; seq++ {
		if fresh[seq] != 1 {
			t.Fatalf("seq %d applied anew %d times, want 1", seq, fresh[seq])
		}
	}
	sgCounts(t, e, 200, 200)
	sgStored(t, e, 1, recs...)
	if n := sgNextSeq(t, e, dev); n != 201 {
		t.Fatalf("next_seq %d, want 201", n)
	}
	if n := sgCount(t, e, `SELECT count(*) FROM push_results WHERE device_id = $1`, dev); n != 200 {
		t.Fatalf("%d stored results, want 200", n)
	}
	// Both servers pull the same 200 rows.
	for i, tr := range trs {
		p := sgPullAll(t, tr, dev, "", 64)
		if len(p.Upserts) != 200 {
			t.Fatalf("server %d pulls %d rows, want 200", i+1, len(p.Upserts))
		}
		for _, r := range recs {
			if p.Upserts[r.ID].ContentHash != r.Hash() {
				t.Fatalf("server %d: %s missing or different", i+1, r.ID)
			}
		}
	}
}

// ---------------------------------------------------------------------------------------------
// 7. devices are bound to their user

func TestSyncGuaranteeDeviceBinding(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coachA := e.Users[observation.RoleCoach]
	coachB := observation.Principal{UserID: "riverbend-usd.coach-2", Role: observation.RoleCoach, DistrictID: coachA.DistrictID,
		SiteIDs: []string{sgSiteC, sgSiteD}}
	_, devA := e.Device(t, coachA)
	trB := sgTransport(t, e, e.GRPC, coachB)
	recB := sgRecords(t, e, 71, coachB, []string{sgSiteC}, 1, observation.RecordSubmitted)
	sc := pb.NewSyncServiceClient(e.GRPC)
	ctxB := testenv.Ctx(e.Token(t, coachB))

	// Another user's device answers exactly like one nobody registered (device ids do not leak);
	// registering it is refused.
	_, err := trB.Push(ctx, sync.PushRequest{DeviceID: devA, Changes: testenv.Changes(1, recB...)})
	sgKind(t, err, observation.KindFailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = sc.Push(ctxB, &pb.PushRequest{DeviceId: devA, Changes: []*pb.Change{server.ChangeToPB(testenv.Changes(1, recB...)[0])}})
	sgStatus(t, err, codes.FailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = trB.Pull(ctx, sync.PullRequest{DeviceID: devA})
	sgKind(t, err, observation.KindFailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = sc.Pull(ctxB, &pb.PullRequest{DeviceId: devA})
	sgStatus(t, err, codes.FailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = sc.Reconcile(ctxB, &pb.ReconcileRequest{DeviceId: devA, Records: []*pb.RecordHash{{ObservationId: recB[0].ID, ContentHash: "x"}}})
	sgStatus(t, err, codes.FailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = sc.RegisterDevice(ctxB, &pb.RegisterDeviceRequest{DeviceId: devA, ClientVersion: "sg", SchemaVersion: 1})
	sgStatus(t, err, codes.PermissionDenied, "")
	_, err = trB.RegisterDevice(ctx, devA, "sg", 1)
	sgKind(t, err, observation.KindPermissionDenied, "")
	if n := sgCount(t, e, `SELECT count(*) FROM devices WHERE device_id = $1 AND user_id = $2 AND next_seq = 1`, devA, coachA.UserID); n != 1 {
		t.Fatal("device A changed hands or advanced")
	}
	sgCounts(t, e, 0, 0)

	// Registering again as the same user is a no-op.
	trA := sgTransport(t, e, e.GRPC, coachA)
	d, err := trA.RegisterDevice(ctx, devA, "sg", 1)
	if err != nil || d.UserID != coachA.UserID || d.NextSeq != 1 {
		t.Fatalf("re-register: %+v %v", d, err)
	}

	unknown := uuid.Must(uuid.NewV7()).String()
	_, err = trA.Push(ctx, sync.PushRequest{DeviceID: unknown, Changes: testenv.Changes(1, e.Records(t, 72, coachA, 1)...)})
	sgKind(t, err, observation.KindFailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = sc.Push(testenv.Ctx(e.Token(t, coachA)), &pb.PushRequest{DeviceId: unknown})
	sgStatus(t, err, codes.FailedPrecondition, "DEVICE_NOT_REGISTERED")
	_, err = trA.Pull(ctx, sync.PullRequest{DeviceID: unknown})
	sgKind(t, err, observation.KindFailedPrecondition, "DEVICE_NOT_REGISTERED")

	analyst := e.Users[observation.RoleNetworkAnalyst]
	_, err = sc.RegisterDevice(testenv.Ctx(e.Token(t, analyst)), &pb.RegisterDeviceRequest{DeviceId: unknown, SchemaVersion: 1})
	sgStatus(t, err, codes.PermissionDenied, "")
	if n := sgCount(t, e, `SELECT count(*) FROM devices`); n != 1 {
		t.Fatalf("%d devices, want 1", n)
	}
	sgCounts(t, e, 0, 0)
}

// ---------------------------------------------------------------------------------------------
// 8. drafts merge field by field; submitted records are immutable

func TestSyncGuaranteeDraftMergeAndImmutability(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tr1, dev1 := e.Device(t, coach)
	tr2, dev2 := e.Device(t, coach)

	full := e.Records(t, 81, coach, 1)[0]
	draft := full
	draft.Status = observation.RecordDraft
	draft.Scores = slices.Clone(full.Scores[:2])
	draft.NextSteps = ""
	r := sgPush(t, tr1, dev1, "", sync.Change{Seq: 1, Op: sync.OpUpsert, Record: draft, ObservationID: draft.ID}).Results[0]
	if r.Status != sync.StatusApplied || r.Revision != 1 || r.ContentHash != draft.Hash() {
		t.Fatalf("draft: %+v", r)
	}

	// Device 2 edits only next_steps, device 1 (not knowing that) only scores.
	edit2 := draft
	edit2.NextSteps = "Try a turn-and-talk before whole-group sharing."
	edit2.LessonFocus = "device 2 must not overwrite this"
	r = sgPush(t, tr2, dev2, "", sync.Change{Seq: 1, Op: sync.OpUpsert, Record: edit2, ObservationID: draft.ID, BaseRevision: 1, Fields: []string{"next_steps"}}).Results[0]
	if r.Status != sync.StatusApplied || r.Revision != 2 {
		t.Fatalf("next_steps edit: %+v", r)
	}
	edit1 := draft
	edit1.Scores = full.Scores
	r = sgPush(t, tr1, dev1, "", sync.Change{Seq: 2, Op: sync.OpUpsert, Record: edit1, ObservationID: draft.ID, BaseRevision: 1, Fields: []string{"scores"}}).Results[0]
	want := draft
	want.NextSteps = edit2.NextSteps
	want.Scores = full.Scores
	if r.Status != sync.StatusApplied || r.Revision != 3 || r.ContentHash != want.Hash() {
		t.Fatalf("scores edit: %+v; want revision 3 with both edits (%s)", r, want.Hash())
	}
	sgStored(t, e, 3, want)

	// Re-sending the same field edit is a duplicate.
	r = sgPush(t, tr2, dev2, "", sync.Change{Seq: 2, Op: sync.OpUpsert, Record: edit2, ObservationID: draft.ID, Fields: []string{"next_steps"}}).Results[0]
	if r.Status != sync.StatusDuplicate || r.Revision != 3 || r.ContentHash != want.Hash() {
		t.Fatalf("same draft edit again: %+v", r)
	}

	// Submit.
	sub := want
	sub.Status = observation.RecordSubmitted
	r = sgPush(t, tr1, dev1, "", sync.Change{Seq: 3, Op: sync.OpUpsert, Record: sub, ObservationID: sub.ID, BaseRevision: 3}).Results[0]
	if r.Status != sync.StatusApplied || r.Revision != 4 || r.ContentHash != sub.Hash() {
		t.Fatalf("submit: %+v", r)
	}

	// Immutable: an upsert without a base revision (a create of an id the server holds), or a
	// field edit without one, is not applied; it is kept as a conflict for a person.
	later := sub
	later.NextSteps = "Changed after submitting."
	r = sgPush(t, tr2, dev2, "", sync.Change{Seq: 3, Op: sync.OpUpsert, Record: later, ObservationID: sub.ID}).Results[0]
	if r.Status != sync.StatusConflict || r.Reason != sync.ConflictConcurrentCreate || r.Revision != 4 || r.Server == nil || r.ConflictID == "" {
		t.Fatalf("edit of a submitted record without base: %+v", r)
	}
	r = sgPush(t, tr2, dev2, "", sync.Change{Seq: 4, Op: sync.OpUpsert, Record: later, ObservationID: sub.ID, Fields: []string{"next_steps"}}).Results[0]
	if r.Status != sync.StatusConflict || r.Reason != sync.ConflictConcurrentCreate {
		t.Fatalf("field edit of a submitted record without base: %+v", r)
	}
	back := sub
	back.Status = observation.RecordDraft
	r = sgPush(t, tr2, dev2, "", sync.Change{Seq: 5, Op: sync.OpUpsert, Record: back, ObservationID: sub.ID, BaseRevision: 4}).Results[0]
	if r.Status != sync.StatusRejected || r.Field != "record.status" {
		t.Fatalf("back to draft: %+v", r)
	}
	sgStored(t, e, 4, sub)

	// An amendment on the current revision applies; the same content again is a duplicate.
	r = sgPush(t, tr2, dev2, "", sync.Change{Seq: 6, Op: sync.OpUpsert, Record: later, ObservationID: sub.ID, BaseRevision: 4}).Results[0]
	if r.Status != sync.StatusApplied || r.Revision != 5 || r.ContentHash != later.Hash() {
		t.Fatalf("amendment: %+v", r)
	}
	for i, base := range []int{5, 4, 0} {
		r = sgPush(t, tr1, dev1, "", sync.Change{Seq: int64(4 + i), Op: sync.OpUpsert, Record: later, ObservationID: sub.ID, BaseRevision: base}).Results[0]
		if r.Status != sync.StatusDuplicate || r.Revision != 5 || r.ContentHash != later.Hash() {
			t.Fatalf("identical content (base %d): %+v", base, r)
		}
	}
	sgStored(t, e, 5, later)
	sgCounts(t, e, 1, 5)
	if n := sgCount(t, e, `SELECT count(*) FROM conflicts`); n != 2 {
		t.Fatalf("%d conflicts, want the 2 edits made without a base revision", n)
	}
}

// ---------------------------------------------------------------------------------------------
// 9. limits

func TestSyncGuaranteeLimits(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	tok := e.Token(t, coach)
	recs := e.Records(t, 91, coach, 501)

	_, err := tr.Push(context.Background(), sync.PushRequest{DeviceID: dev, Changes: testenv.Changes(1, recs...)})
	de := sgKind(t, err, observation.KindResourceExhausted, "")
	if !strings.Contains(de.Message, "500") {
		t.Fatalf("message %q does not name the limit", de.Message)
	}
	req := &pb.PushRequest{DeviceId: dev}
	for _, c := range testenv.Changes(1, recs...) {
		req.Changes = append(req.Changes, server.ChangeToPB(c))
	}
	_, err = pb.NewSyncServiceClient(e.GRPC).Push(testenv.Ctx(tok), req)
	st := sgStatus(t, err, codes.ResourceExhausted, "TOO_MANY_CHANGES")
	if !strings.Contains(st.Message(), "500") {
		t.Fatalf("message %q does not name the limit", st.Message())
	}
	body, err := protojson.Marshal(req)
	if err != nil {
		t.Fatal(err)
	}
	r := e.Do(t, http.MethodPost, "/v1/sync:push", tok, string(body))
	if r.Status != http.StatusRequestEntityTooLarge {
		t.Fatalf("REST push of 501 changes: HTTP %d %s; want 413 (429 is for rate limits)", r.Status, r.Body)
	}
	var body413 struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Reason string `json:"reason"`
		} `json:"details"`
	}
	if err := json.Unmarshal([]byte(r.Body), &body413); err != nil || body413.Code != int(codes.ResourceExhausted) || !strings.Contains(body413.Message, "500") ||
		len(body413.Details) == 0 || body413.Details[0].Reason != "TOO_MANY_CHANGES" {
		t.Fatalf("REST 413 body %s (%v)", r.Body, err)
	}
	if n := sgNextSeq(t, e, dev); n != 1 {
		t.Fatalf("next_seq %d after refused pushes, want 1", n)
	}
	sgCounts(t, e, 0, 0)
	// 500 is fine.
	sgApplied(t, sgPush(t, tr, dev, "", testenv.Changes(1, recs[:500]...)...).Results, 1, false, recs[:500]...)
	sgCounts(t, e, 500, 500)

	// The byte limit.
	small := testenv.Start(t, func(c *server.Config) { c.PushLimits.MaxBytes = 64 << 10 })
	str, sdev := small.Device(t, coach)
	big := small.Records(t, 92, coach, 200)
	breq := &pb.PushRequest{DeviceId: sdev}
	for _, c := range testenv.Changes(1, big...) {
		breq.Changes = append(breq.Changes, server.ChangeToPB(c))
	}
	if n := proto.Size(breq); n <= 64<<10 {
		t.Fatalf("test batch is only %d bytes", n)
	}
	_, err = str.Push(context.Background(), sync.PushRequest{DeviceID: sdev, Changes: testenv.Changes(1, big...)})
	de = sgKind(t, err, observation.KindResourceExhausted, "PUSH_TOO_LARGE")
	if !strings.Contains(de.Message, fmt.Sprint(64<<10)) {
		t.Fatalf("message %q does not name the byte limit", de.Message)
	}
	_, err = pb.NewSyncServiceClient(small.GRPC).Push(testenv.Ctx(small.Token(t, coach)), breq)
	sgStatus(t, err, codes.ResourceExhausted, "PUSH_TOO_LARGE")
	if n := sgNextSeq(t, small, sdev); n != 1 {
		t.Fatalf("next_seq %d after an oversize push, want 1", n)
	}
	sgCounts(t, small, 0, 0)
	sgApplied(t, sgPush(t, str, sdev, "", testenv.Changes(1, big[:5]...)...).Results, 1, false, big[:5]...)
}

// ---------------------------------------------------------------------------------------------
// 10. pull semantics

func TestSyncGuaranteePullSemantics(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	ctx := context.Background()
	coach := e.Users[observation.RoleCoach]
	da := e.Users[observation.RoleDistrictAdmin]
	withSites := func(sites ...string) observation.Principal {
		p := coach
		p.SiteIDs = sites
		return p
	}
	coachAB, coachA, coachABC := withSites(sgSiteA, sgSiteB), withSites(sgSiteA), withSites(sgSiteA, sgSiteB, sgSiteC)
	trAB, dev := e.Device(t, coachAB)
	trA, trABC := sgTransport(t, e, e.GRPC, coachA), sgTransport(t, e, e.GRPC, coachABC)
	trDA, devDA := e.Device(t, da)

	ownA := sgRecords(t, e, 101, coach, []string{sgSiteA}, 2, observation.RecordSubmitted)
	ownB := sgRecords(t, e, 102, coach, []string{sgSiteB}, 2, observation.RecordSubmitted)
	daA := sgRecords(t, e, 103, da, []string{sgSiteA}, 2, observation.RecordSubmitted)
	daB := sgRecords(t, e, 104, da, []string{sgSiteB}, 3, observation.RecordSubmitted)
	daC := sgRecords(t, e, 105, da, []string{sgSiteC}, 2, observation.RecordSubmitted)
	daDraftB := sgRecords(t, e, 106, da, []string{sgSiteB}, 1, observation.RecordDraft)
	sgPush(t, trAB, dev, "", testenv.Changes(1, append(slices.Clone(ownA), ownB...)...)...)
	daAll := append(append(append(slices.Clone(daA), daB...), daC...), daDraftB...)
	for _, r := range sgPush(t, trDA, devDA, "", testenv.Changes(1, daAll...)...).Results {
		if r.Status != sync.StatusApplied {
			t.Fatalf("district admin push: %+v", r)
		}
	}
	ids := func(rs ...[]observation.Record) map[string]bool {
		out := map[string]bool{}
		for _, l := range rs {
			for _, r := range l {
				out[r.ID] = true
			}
		}
		return out
	}
	sameKeys := func(what string, got map[string]bool, want map[string]bool) {
		t.Helper()
		if len(got) != len(want) {
			t.Fatalf("%s: %d ids, want %d", what, len(got), len(want))
		}
		for id := range want {
			if !got[id] {
				t.Fatalf("%s: %s missing", what, id)
			}
		}
	}
	keys := func(m any) map[string]bool {
		out := map[string]bool{}
		switch m := m.(type) {
		case map[string]observation.StoredObservation:
			for k := range m {
				out[k] = true
			}
		case map[string]sync.TombstoneReason:
			for k := range m {
				out[k] = true
			}
		}
		return out
	}

	// Full pull with sites A, B: own records and submitted records at A and B; rubrics first.
	p := sgPullAll(t, trAB, dev, "", 2)
	sameKeys("first pull", keys(p.Upserts), ids(ownA, ownB, daA, daB))
	if len(p.Tombstones) != 0 || len(p.Rubrics) == 0 {
		t.Fatalf("first pull: %d tombstones, %d rubric changes", len(p.Tombstones), len(p.Rubrics))
	}

	// Scope shrinks to A: the district admin's B records leave, the coach's own stay.
	shrink := sgPullAll(t, trA, dev, p.Cursor, 0)
	if shrink.Reset || len(shrink.Upserts) != 0 {
		t.Fatalf("after shrinking: reset %v, %d upserts", shrink.Reset, len(shrink.Upserts))
	}
	sameKeys("out-of-scope tombstones", keys(shrink.Tombstones), ids(daB))
	for id, why := range shrink.Tombstones {
		if why != sync.TombstoneOutOfScope {
			t.Fatalf("tombstone %s: %s, want out_of_scope", id, why)
		}
	}
	if again := sgPullAll(t, trA, dev, shrink.Cursor, 0); len(again.Upserts)+len(again.Tombstones) != 0 {
		t.Fatalf("pull after the shrink delta: %d rows", len(again.Upserts)+len(again.Tombstones))
	}

	// Scope grows to A, B, C: the existing records of B and C arrive.
	grow := sgPullAll(t, trABC, dev, shrink.Cursor, 0)
	if grow.Reset || len(grow.Tombstones) != 0 {
		t.Fatalf("after growing: reset %v, %d tombstones", grow.Reset, len(grow.Tombstones))
	}
	for id := range ids(daB, daC) {
		if _, ok := grow.Upserts[id]; !ok {
			t.Fatalf("after growing: %s (a submitted record of a new site) missing", id)
		}
	}
	for id := range grow.Upserts {
		if !ids(daB, daC, ownB)[id] {
			t.Fatalf("after growing: unexpected %s", id)
		}
	}
	cursor := grow.Cursor

	// Deletion: a tombstone with reason deleted.
	del := sgPush(t, trDA, devDA, "", sync.Change{Seq: int64(len(daAll) + 1), Op: sync.OpDelete, ObservationID: daA[0].ID, BaseRevision: 1}).Results[0]
	if del.Status != sync.StatusApplied || del.Revision != 2 {
		t.Fatalf("delete: %+v", del)
	}
	dp := sgPullAll(t, trABC, dev, cursor, 0)
	if len(dp.Upserts) != 0 || len(dp.Tombstones) != 1 || dp.Tombstones[daA[0].ID] != sync.TombstoneDeleted {
		t.Fatalf("after delete: %d upserts, tombstones %v", len(dp.Upserts), dp.Tombstones)
	}
	cursor = dp.Cursor

	// Rubric changes arrive, on the first page, before observations.
	sgDistrictRubric(t, e, "sg-pull-rubric", true, false)
	newRecs := sgRecords(t, e, 107, coach, []string{sgSiteC}, 3, observation.RecordSubmitted)
	pushed := sgPush(t, trABC, dev, "", testenv.Changes(5, newRecs...)...)
	first, err := trABC.Pull(ctx, sync.PullRequest{DeviceID: dev, Cursor: cursor, Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(first.Rubrics) != 1 || first.Rubrics[0].RubricID != "sg-pull-rubric" || first.Rubrics[0].Status != observation.StatusPublished || !first.HasMore {
		t.Fatalf("first page after publishing: rubrics %+v, has_more %v", first.Rubrics, first.HasMore)
	}
	rest := sgPullAll(t, trABC, dev, first.Cursor, 1)
	if got := len(first.Upserts) + len(rest.Upserts); got != 3 {
		t.Fatalf("%d new records pulled, want 3", got)
	}
	sgDistrictRubricRetire(t, e, "sg-pull-rubric")
	rp := sgPullAll(t, trABC, dev, rest.Cursor, 0)
	if len(rp.Rubrics) != 1 || rp.Rubrics[0].Status != observation.StatusRetired || len(rp.Upserts) != 0 {
		t.Fatalf("after retiring: %+v, %d upserts", rp.Rubrics, len(rp.Upserts))
	}

	// Read-your-writes: the push response's cursor covers the push's own records, so they are
	// not pulled again (sync_edges_test.go: a later change by someone else is).
	mine := sgRecords(t, e, 108, coach, []string{sgSiteA}, 2, observation.RecordSubmitted)
	pr := sgPush(t, trABC, dev, rp.Cursor, testenv.Changes(5+int64(len(pushed.Results)), mine...)...)
	ryw := sgPullAll(t, trABC, dev, pr.Cursor, 0)
	sameKeys("read-your-writes", keys(ryw.Upserts), nil)

	// A garbage cursor is refused, over the transport and raw gRPC.
	_, err = trABC.Pull(ctx, sync.PullRequest{DeviceID: dev, Cursor: "not-a-cursor!"})
	sgKind(t, err, observation.KindInvalid, "BAD_CURSOR")
	sc := pb.NewSyncServiceClient(e.GRPC)
	_, err = sc.Pull(testenv.Ctx(e.Token(t, coachABC)), &pb.PullRequest{DeviceId: dev, Cursor: "eyJ2Ijo5fQ"})
	sgStatus(t, err, codes.InvalidArgument, "BAD_CURSOR")
	// On a push it does not block the upload: the answer says reset (sync_edges_test.go).
	presp, err := sc.Push(testenv.Ctx(e.Token(t, coachABC)), &pb.PushRequest{DeviceId: dev, Cursor: "%%%"})
	if err != nil || !presp.GetReset_() || presp.GetCursor() != "" {
		t.Fatalf("push with a garbage cursor: %v %v", presp, err)
	}

	// A cursor older than tombstone retention gets an explicit reset.
	short := testenv.Start(t, func(c *server.Config) { c.TombstoneRetention = time.Second })
	str, sdev := short.Device(t, coach)
	srecs := short.Records(t, 109, coach, 2)
	sgPush(t, str, sdev, "", testenv.Changes(1, srecs...)...)
	sp := sgPullAll(t, str, sdev, "", 0)
	if len(sp.Upserts) != 2 {
		t.Fatalf("short retention: %d upserts", len(sp.Upserts))
	}
	time.Sleep(2200 * time.Millisecond)
	old, err := str.Pull(ctx, sync.PullRequest{DeviceID: sdev, Cursor: sp.Cursor})
	if err != nil {
		t.Fatal(err)
	}
	if !old.Reset || len(old.Upserts)+len(old.Tombstones) != 0 {
		t.Fatalf("stale cursor: reset %v, %d rows", old.Reset, len(old.Upserts)+len(old.Tombstones))
	}
	if again := sgPullAll(t, str, sdev, "", 0); again.Reset || len(again.Upserts) != 2 {
		t.Fatalf("pull after reset: %+v", again)
	}
}

// sgDistrictRubricRetire retires version 1 of a district rubric as the demo district admin.
func sgDistrictRubricRetire(t *testing.T, e *testenv.Env, id string) {
	t.Helper()
	ctx := testenv.Ctx(e.TokenFor(t, observation.RoleDistrictAdmin))
	if _, err := pb.NewRubricServiceClient(e.GRPC).RetireVersion(ctx, &pb.RetireVersionRequest{RubricId: id, Version: 1}); err != nil {
		t.Fatal(err)
	}
}

// ---------------------------------------------------------------------------------------------
// 11. reconcile

func TestSyncGuaranteeReconcile(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tr, dev := e.Device(t, coach)
	recs := e.Records(t, 111, coach, 5)
	sgPush(t, tr, dev, "", testenv.Changes(1, recs[:3]...)...)
	pairs := []sync.HashPair{
		{ObservationID: recs[0].ID, ContentHash: recs[0].Hash()},
		{ObservationID: recs[3].ID, ContentHash: recs[3].Hash()},
		{ObservationID: recs[1].ID, ContentHash: recs[1].Hash()},
		{ObservationID: recs[2].ID, ContentHash: strings.Repeat("0", 64)},
		{ObservationID: recs[4].ID, ContentHash: recs[4].Hash()},
	}
	res, err := tr.Reconcile(context.Background(), dev, pairs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Missing, []string{recs[3].ID, recs[4].ID}) {
		t.Fatalf("missing %v, want %v", res.Missing, []string{recs[3].ID, recs[4].ID})
	}
	if len(res.Differ) != 1 || res.Differ[0].ObservationID != recs[2].ID || res.Differ[0].ContentHash != recs[2].Hash() {
		t.Fatalf("differ %+v, want %s with %s", res.Differ, recs[2].ID, recs[2].Hash())
	}
}

// ---------------------------------------------------------------------------------------------
// 12. REST parity

func TestSyncGuaranteeRESTParity(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	tok := e.Token(t, coach)
	dev := uuid.Must(uuid.NewV7()).String()

	r := e.Do(t, http.MethodPost, "/v1/sync:registerDevice", tok, fmt.Sprintf(`{"device_id": %q, "client_version": "rest", "schema_version": 1}`, dev))
	if r.Status != http.StatusOK {
		t.Fatalf("register: HTTP %d %s", r.Status, r.Body)
	}
	var reg pb.RegisterDeviceResponse
	if err := protojson.Unmarshal([]byte(r.Body), &reg); err != nil {
		t.Fatal(err)
	}
	if reg.GetDevice().GetDeviceId() != dev || reg.GetDevice().GetUserId() != coach.UserID || reg.GetDevice().GetNextSeq() != 1 {
		t.Fatalf("register: %v", &reg)
	}

	rec := e.Records(t, 121, coach, 1)[0]
	body, err := protojson.Marshal(&pb.PushRequest{DeviceId: dev, Changes: []*pb.Change{server.ChangeToPB(testenv.Changes(1, rec)[0])}})
	if err != nil {
		t.Fatal(err)
	}
	for round, replayed := range []bool{false, true} {
		r = e.Do(t, http.MethodPost, "/v1/sync:push", tok, string(body))
		if r.Status != http.StatusOK {
			t.Fatalf("push %d: HTTP %d %s", round, r.Status, r.Body)
		}
		var pr pb.PushResponse
		if err := protojson.Unmarshal([]byte(r.Body), &pr); err != nil {
			t.Fatal(err)
		}
		if len(pr.GetResults()) != 1 {
			t.Fatalf("push %d: %v", round, &pr)
		}
		res := pr.GetResults()[0]
		if res.GetStatus() != pb.ChangeStatus_CHANGE_STATUS_APPLIED || res.GetRevision() != 1 || res.GetContentHash() != rec.Hash() ||
			res.GetSeq() != 1 || res.GetObservationId() != rec.ID || res.GetReplayed() != replayed {
			t.Fatalf("push %d: %v", round, res)
		}
	}
	sgCounts(t, e, 1, 1)
	sgStored(t, e, 1, rec)
	if n := sgNextSeq(t, e, dev); n != 2 {
		t.Fatalf("next_seq %d, want 2", n)
	}

	r = e.Do(t, http.MethodPost, "/v1/sync:pull", tok, fmt.Sprintf(`{"device_id": %q}`, dev))
	if r.Status != http.StatusOK {
		t.Fatalf("pull: HTTP %d %s", r.Status, r.Body)
	}
	var pull pb.PullResponse
	if err := protojson.Unmarshal([]byte(r.Body), &pull); err != nil {
		t.Fatal(err)
	}
	if len(pull.GetUpserts()) != 1 || pull.GetUpserts()[0].GetContentHash() != rec.Hash() || pull.GetHasMore() || len(pull.GetRubrics()) == 0 ||
		server.RecordFromPB(pull.GetUpserts()[0].GetRecord()).Hash() != rec.Hash() {
		t.Fatalf("pull: %v", &pull)
	}
	r = e.Do(t, http.MethodPost, "/v1/sync:pull", tok, fmt.Sprintf(`{"device_id": %q, "cursor": %q}`, dev, pull.GetCursor()))
	var next pb.PullResponse
	if r.Status != http.StatusOK || protojson.Unmarshal([]byte(r.Body), &next) != nil || len(next.GetUpserts()) != 0 {
		t.Fatalf("incremental pull: HTTP %d %s", r.Status, r.Body)
	}

	r = e.Do(t, http.MethodPost, "/v1/sync:reconcile", tok, fmt.Sprintf(`{"device_id": %q, "records": [{"observation_id": %q, "content_hash": "x"}]}`, dev, rec.ID))
	var rr pb.ReconcileResponse
	if r.Status != http.StatusOK || protojson.Unmarshal([]byte(r.Body), &rr) != nil || len(rr.GetDiffer()) != 1 || rr.GetDiffer()[0].GetContentHash() != rec.Hash() {
		t.Fatalf("reconcile: HTTP %d %s", r.Status, r.Body)
	}

	// Another user's token on this device: 400 DEVICE_NOT_REGISTERED, as for an unregistered device.
	other := observation.Principal{UserID: "riverbend-usd.coach-2", Role: observation.RoleCoach, DistrictID: coach.DistrictID, SiteIDs: []string{sgSiteC, sgSiteD}}
	r = e.Do(t, http.MethodPost, "/v1/sync:push", e.Token(t, other), string(body))
	if r.Status != http.StatusBadRequest || !strings.Contains(r.Body, "DEVICE_NOT_REGISTERED") {
		t.Fatalf("push with another user's token: HTTP %d %s", r.Status, r.Body)
	}
}

// ---------------------------------------------------------------------------------------------
// 13. fuzzing the push decoding and record validation

func FuzzPushDecode(f *testing.F) {
	roster := demo.Network()
	coach := demo.Principals(roster)[0].Principal
	var room observation.Classroom
	for _, c := range roster.Classrooms {
		if c.DistrictID == coach.DistrictID && slices.Contains(coach.SiteIDs, c.SiteID) {
			room = c
			break
		}
	}
	var groups []observation.StudentGroup
	for _, d := range roster.Districts {
		if d.ID == coach.DistrictID {
			groups = d.Settings.StudentGroups
		}
	}
	rubric := observation.DefaultRubricVersion(time.Now())
	recs := synth.New(1).Batch(3, func(i int) synth.Input {
		return synth.Input{Classroom: room, Observer: coach, Rubric: rubric, StudentGroups: groups,
			When: time.Now().UTC().Add(-time.Duration(i+1) * time.Hour)}
	})
	req := &pb.PushRequest{DeviceId: uuid.NewString(), ClientVersion: "fuzz", SchemaVersion: 1}
	for _, c := range testenv.Changes(1, recs...) {
		req.Changes = append(req.Changes, server.ChangeToPB(c))
	}
	req.Changes[2].BaseRevision, req.Changes[2].Fields = 1, []string{"scores", "next_steps"}
	valid, err := protojson.Marshal(req)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(valid)
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"changes":[{"seq":"1","op":"CHANGE_OP_UPSERT","record":{}}]}`))
	f.Add([]byte(`{"changes":[{"seq":"-3","op":"CHANGE_OP_DELETE","observation_id":"x"},{"record":{"id":"` + recs[0].ID +
		`","started_at":"9999-12-31T23:59:59Z","recorded_at":"0001-01-01T00:00:00Z","scores":[{"dimension":"press","level":-7},{"dimension":""}],` +
		`"tallies":[{"category":"x","count":-1}],"participation":[{"field":"student_group","option":"ml","count":99999}],"enrolment":[{"group":"ml","count":-2}],` +
		`"duration_minutes":-5,"discussion_minutes":2147483647,"observer_role":"ROLE_NETWORK_ANALYST","kind":17,"status":99}}]}`))
	f.Add([]byte(`{"device_id":"zz","changes":[{"record":{"id":"00000000-0000-0000-0000-000000000000","district_id":"\u0000"}}]}`))
	f.Add([]byte(`not json at all`))
	f.Add(valid[:len(valid)/2])

	rctx := observation.RecordContext{Classroom: &room, StudentGroups: groups}
	f.Fuzz(func(t *testing.T, data []byte) {
		var in pb.PushRequest
		if err := protojson.Unmarshal(data, &in); err != nil {
			t.Skip()
		}
		pr := server.PushFromPB(&in)
		if len(pr.Changes) != len(in.GetChanges()) {
			t.Fatalf("%d changes decoded from %d", len(pr.Changes), len(in.GetChanges()))
		}
		for i, ch := range pr.Changes {
			c := rctx
			c.Now = time.Now()
			room := room
			c.Classroom = &room
			err := observation.ValidateRecord(ch.Record, rubric, c)
			if err == nil {
				_ = ch.Record.Hash()
				continue
			}
			var de *observation.Error
			if !errors.As(err, &de) || de == nil {
				t.Fatalf("change %d: error %v (%T) is not an *observation.Error", i, err, err)
			}
			if de.Field == "" || de.Reason == "" || de.Kind != observation.KindInvalid {
				t.Fatalf("change %d: error %+v lacks a field or reason", i, de)
			}
			// The encoding back to the wire must not panic either.
			_ = server.ChangeToPB(ch)
		}
	})
}

// Two devices of one observer create the same record id at the same moment (a tablet restored
// onto a second device with its outbox): row locks cannot cover a row that does not exist yet,
// yet one version must not silently overwrite the other.
func TestSyncGuaranteeConcurrentCreateSameID(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	const rounds = 12
	for round := range rounds {
		tr1, dev1 := e.Device(t, coach)
		tr2, dev2 := e.Device(t, coach)
		rec := e.Records(t, int64(130+round), coach, 1)[0]
		a, b := rec, rec
		a.NextSteps, b.NextSteps = "from device 1", "from device 2"
		var ra, rb sync.PushResponse
		var ea, eb error
		var wg gosync.WaitGroup
		wg.Add(2)
		go func() {
			defer wg.Done()
			ra, ea = sgPushRetrying(tr1, sync.PushRequest{DeviceID: dev1, Changes: testenv.Changes(1, a)})
		}()
		go func() {
			defer wg.Done()
			rb, eb = sgPushRetrying(tr2, sync.PushRequest{DeviceID: dev2, Changes: testenv.Changes(1, b)})
		}()
		wg.Wait()
		if ea != nil || eb != nil {
			t.Fatalf("round %d: %v / %v", round, ea, eb)
		}
		x, y := ra.Results[0], rb.Results[0]
		winner, loser, lost := a, y, b
		if y.Status == sync.StatusApplied {
			winner, loser, lost = b, x, a
		}
		if (x.Status == sync.StatusApplied) == (y.Status == sync.StatusApplied) {
			t.Fatalf("round %d: device 1 %+v, device 2 %+v; want exactly one applied", round, x, y)
		}
		if loser.Status != sync.StatusConflict || loser.Reason != sync.ConflictConcurrentCreate || loser.ConflictID == "" ||
			loser.Server == nil || loser.Server.ContentHash != winner.Hash() {
			t.Fatalf("round %d: the second creation answered %+v; want a CONCURRENT_CREATE conflict against the first", round, loser)
		}
		sgStored(t, e, 1, winner)
		if lost.Hash() == winner.Hash() {
			t.Fatal("test records must differ")
		}
	}
	sgCounts(t, e, rounds, rounds)
	if n := sgCount(t, e, `SELECT count(*) FROM conflicts WHERE status = 'open'`); n != rounds {
		t.Fatalf("%d open conflicts, want one per round (the second creation kept for a person)", n)
	}
}

// A record that leaves a caller's scope because it changed (an amendment moves it to a
// classroom at another site) must reach the caller's tablet as a tombstone, as a scope change
// does; otherwise the tablet keeps a stale copy of a record it may no longer see.
func TestSyncGuaranteeRecordMovedOutOfScopeIsTombstoned(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	coach2 := observation.Principal{UserID: "riverbend-usd.coach-2", Role: observation.RoleCoach, DistrictID: coach.DistrictID, SiteIDs: []string{sgSiteC, sgSiteD}}
	tr1, dev1 := e.Device(t, coach)
	tr2, dev2 := e.Device(t, coach2)
	rec := sgRecords(t, e, 141, coach, []string{sgSiteC}, 1, observation.RecordSubmitted)[0]
	sgApplied(t, sgPush(t, tr1, dev1, "", testenv.Changes(1, rec)...).Results, 1, false, rec)
	p := sgPullAll(t, tr2, dev2, "", 0)
	if _, ok := p.Upserts[rec.ID]; !ok {
		t.Fatal("coach-2 does not see a record of a shared site")
	}
	moved := sgRecords(t, e, 142, coach, []string{sgSiteA}, 1, observation.RecordSubmitted)[0]
	moved.ID = rec.ID
	if r := sgPush(t, tr1, dev1, "", sync.Change{Seq: 2, Op: sync.OpUpsert, Record: moved, ObservationID: rec.ID, BaseRevision: 1}).Results[0]; r.Status != sync.StatusApplied {
		t.Fatalf("move: %+v", r)
	}
	d := sgPullAll(t, tr2, dev2, p.Cursor, 0)
	if len(d.Upserts) != 0 || d.Tombstones[rec.ID] != sync.TombstoneOutOfScope {
		t.Fatalf("coach-2's delta after the record left its sites: %d upserts, tombstones %v; want an out_of_scope tombstone", len(d.Upserts), d.Tombstones)
	}
}
