package tablet

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	gosync "sync"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/sync"
)

// fakeServer is an in-memory Transport with the server semantics of docs/sync-protocol.md,
// faithful enough for the client: per-device next seq stored with each change's result, replays
// of stored results with Replayed set, sequence gaps that are not stored, records with revisions,
// drafts that merge, submitted records that need the current base revision, and a pull cursor
// that is an index into a change log. It can inject failures.
type fakeServer struct {
	mu      gosync.Mutex
	limits  sync.Limits
	devices map[string]*fakeDevice
	records map[string]*observation.StoredObservation
	log     []fakeLogEntry
	now     time.Time

	// Injection (each counter is consumed one call at a time).
	loseResponses     int               // Push: apply the batch, then fail with Unavailable
	unavailableBefore int               // Push: fail with Unavailable before applying
	pullUnavailable   int               // Pull: fail with Unavailable
	exhaustAbove      int               // Push: ResourceExhausted when a batch has more changes (0: off)
	unauth            int               // any call: fail with Unauthenticated
	hang              int               // Push: block until the call's context ends
	rejectIDs         map[string]string // observation id → rejection reason
	resetNext         int               // Pull: the next pulls from a non-empty cursor get Reset

	// Observations.
	pushCalls   int
	pullCalls   int
	batchSizes  []int // changes per Push call that reached the server (after auth and injection)
	batchBytes  []int // JSON bytes of those calls' changes
	appliedSeqs map[string][]int64
	applyCount  map[string]int // times each record was written (applied, not duplicate)
}

type fakeDevice struct {
	nextSeq int64
	results map[int64]sync.Result
}

type fakeLogEntry struct {
	obs    observation.StoredObservation
	device string
	reason sync.TombstoneReason // set for removals
}

func newFakeServer() *fakeServer {
	return &fakeServer{
		limits:      sync.DefaultLimits,
		devices:     map[string]*fakeDevice{},
		records:     map[string]*observation.StoredObservation{},
		rejectIDs:   map[string]string{},
		appliedSeqs: map[string][]int64{},
		applyCount:  map[string]int{},
		now:         time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC),
	}
}

var _ Transport = (*fakeServer)(nil)

func fakeUnavailable(msg string) error {
	return observation.Unavailable(nil, "%s", msg)
}

func (s *fakeServer) authFail() error {
	if s.unauth > 0 {
		s.unauth--
		return &observation.Error{Kind: observation.KindUnauthenticated, Reason: "UNAUTHENTICATED", Message: "token expired"}
	}
	return nil
}

func (s *fakeServer) RegisterDevice(_ context.Context, deviceID, _ string, _ int) (sync.Device, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.authFail(); err != nil {
		return sync.Device{}, err
	}
	d, ok := s.devices[deviceID]
	if !ok {
		d = &fakeDevice{nextSeq: 1, results: map[int64]sync.Result{}}
		s.devices[deviceID] = d
	}
	return sync.Device{ID: deviceID, NextSeq: d.nextSeq, RegisteredAt: s.now}, nil
}

func (s *fakeServer) Push(ctx context.Context, req sync.PushRequest) (sync.PushResponse, error) {
	s.mu.Lock()
	s.pushCalls++
	if err := s.authFail(); err != nil {
		s.mu.Unlock()
		return sync.PushResponse{}, err
	}
	if s.hang > 0 {
		s.hang--
		s.mu.Unlock()
		<-ctx.Done()
		return sync.PushResponse{}, ctx.Err()
	}
	defer s.mu.Unlock()
	d, ok := s.devices[req.DeviceID]
	if !ok {
		return sync.PushResponse{}, observation.Precondition("DEVICE_NOT_REGISTERED", "device %s is not registered", req.DeviceID)
	}
	bytes := 0
	for _, ch := range req.Changes {
		b, _ := json.Marshal(ch)
		bytes += len(b)
	}
	if len(req.Changes) > s.limits.MaxChanges || bytes > s.limits.MaxBytes ||
		(s.exhaustAbove > 0 && len(req.Changes) > s.exhaustAbove) {
		return sync.PushResponse{}, &observation.Error{Kind: observation.KindResourceExhausted, Reason: "PUSH_TOO_LARGE",
			Message: fmt.Sprintf("%d changes, %d bytes", len(req.Changes), bytes)}
	}
	if s.unavailableBefore > 0 {
		s.unavailableBefore--
		return sync.PushResponse{}, fakeUnavailable("database unreachable")
	}
	s.batchSizes = append(s.batchSizes, len(req.Changes))
	s.batchBytes = append(s.batchBytes, bytes)

	// Like a database transaction: everything of the batch, then the response.
	resp := sync.PushResponse{}
	for _, ch := range req.Changes {
		switch {
		case ch.Seq < d.nextSeq:
			r, ok := d.results[ch.Seq]
			if !ok {
				panic(fmt.Sprintf("fake: no stored result for seq %d", ch.Seq))
			}
			r.Replayed = true
			resp.Results = append(resp.Results, r)
		case ch.Seq > d.nextSeq:
			resp.Results = append(resp.Results, sync.Result{Seq: ch.Seq, ObservationID: ch.ObservationID,
				Status: sync.StatusRejected, Reason: sync.ReasonSequenceGap, ExpectedSeq: d.nextSeq,
				Message: fmt.Sprintf("expected seq %d", d.nextSeq)})
		default:
			r := s.apply(req.DeviceID, ch)
			d.results[ch.Seq] = r
			d.nextSeq++
			s.appliedSeqs[req.DeviceID] = append(s.appliedSeqs[req.DeviceID], ch.Seq)
			resp.Results = append(resp.Results, r)
		}
	}
	resp.Cursor = s.pushCursor(req.DeviceID, req.Cursor)
	if s.loseResponses > 0 {
		s.loseResponses--
		return sync.PushResponse{}, fakeUnavailable("connection reset after commit")
	}
	return resp, nil
}

// pushCursor extends the device's cursor past the log entries that are its own writes: it
// includes the caller's writes and never skips anyone else's.
func (s *fakeServer) pushCursor(device, cursor string) string {
	i, _ := strconv.Atoi(cursor)
	for i < len(s.log) && s.log[i].device == device {
		i++
	}
	return strconv.Itoa(i)
}

func (s *fakeServer) apply(device string, ch sync.Change) sync.Result {
	res := sync.Result{Seq: ch.Seq, ObservationID: ch.ObservationID}
	reject := func(reason, msg string) sync.Result {
		res.Status, res.Reason, res.Message = sync.StatusRejected, reason, msg
		return res
	}
	if reason, ok := s.rejectIDs[ch.ObservationID]; ok {
		return reject(reason, "rejected by the test")
	}
	cur := s.records[ch.ObservationID]
	switch ch.Op {
	case sync.OpDelete:
		if cur == nil {
			return reject(sync.ReasonNotFound, "no such observation")
		}
		if cur.Deleted {
			return reject(sync.ReasonDeleted, "already deleted")
		}
		if cur.Status == observation.RecordSubmitted && ch.BaseRevision != cur.Revision {
			return s.conflict(res, cur)
		}
		next := *cur
		next.Deleted = true
		next.Revision++
		next.DeviceID = device
		s.commit(&next, device, sync.TombstoneDeleted)
		res.Status, res.Revision, res.ContentHash = sync.StatusApplied, next.Revision, next.ContentHash
		return res
	case sync.OpUpsert:
		if ch.Record.ID != ch.ObservationID || ch.ObservationID == "" {
			return reject(sync.ReasonInvalid, "record id does not match")
		}
		if cur == nil {
			if ch.BaseRevision != 0 {
				return reject(sync.ReasonNotFound, "no such observation to amend")
			}
			next := observation.StoredObservation{Record: ch.Record, Revision: 1, ContentHash: ch.Record.Hash(), DeviceID: device}
			s.commit(&next, device, "")
			res.Status, res.Revision, res.ContentHash = sync.StatusApplied, 1, next.ContentHash
			return res
		}
		if cur.Deleted {
			return reject(sync.ReasonDeleted, "the observation was deleted")
		}
		rec := ch.Record
		if cur.Status == observation.RecordSubmitted {
			if ch.BaseRevision == 0 {
				return reject(sync.ReasonImmutable, "a submitted observation needs a base revision")
			}
			if ch.BaseRevision != cur.Revision {
				return s.conflict(res, cur)
			}
		} else if len(ch.Fields) > 0 {
			rec = mergeFields(cur.Record, ch.Record, ch.Fields)
		}
		h := rec.Hash()
		if h == cur.ContentHash {
			res.Status, res.Revision, res.ContentHash = sync.StatusDuplicate, cur.Revision, h
			return res
		}
		next := observation.StoredObservation{Record: rec, Revision: cur.Revision + 1, ContentHash: h, DeviceID: device}
		s.commit(&next, device, "")
		res.Status, res.Revision, res.ContentHash = sync.StatusApplied, next.Revision, h
		return res
	}
	return reject(sync.ReasonInvalid, "unknown op")
}

// mergeFields takes the named JSON fields from upd onto base.
func mergeFields(base, upd observation.Record, fields []string) observation.Record {
	var bm, um map[string]json.RawMessage
	b, _ := json.Marshal(base)
	u, _ := json.Marshal(upd)
	_ = json.Unmarshal(b, &bm)
	_ = json.Unmarshal(u, &um)
	for _, f := range fields {
		if v, ok := um[f]; ok {
			bm[f] = v
		} else {
			delete(bm, f)
		}
	}
	out, _ := json.Marshal(bm)
	var r observation.Record
	_ = json.Unmarshal(out, &r)
	return r
}

func (s *fakeServer) conflict(res sync.Result, cur *observation.StoredObservation) sync.Result {
	cp := *cur
	res.Status, res.Reason, res.ConflictID = sync.StatusConflict, "STALE_BASE", fmt.Sprintf("c-%s-%d", cur.ID, res.Seq)
	res.Server = &cp
	return res
}

func (s *fakeServer) commit(next *observation.StoredObservation, device string, reason sync.TombstoneReason) {
	s.now = s.now.Add(time.Second)
	next.CommittedAt = s.now
	s.records[next.ID] = next
	if !next.Deleted {
		s.applyCount[next.ID]++
	}
	s.log = append(s.log, fakeLogEntry{obs: *next, device: device, reason: reason})
}

func (s *fakeServer) Pull(_ context.Context, req sync.PullRequest) (sync.PullPage, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pullCalls++
	if err := s.authFail(); err != nil {
		return sync.PullPage{}, err
	}
	if s.pullUnavailable > 0 {
		s.pullUnavailable--
		return sync.PullPage{}, fakeUnavailable("replica lagging")
	}
	start := 0
	if req.Cursor != "" {
		var err error
		if start, err = strconv.Atoi(req.Cursor); err != nil || start < 0 || start > len(s.log) {
			return sync.PullPage{}, observation.Invalid("cursor", "BAD_CURSOR", "bad cursor %q", req.Cursor)
		}
		if s.resetNext > 0 {
			s.resetNext--
			return sync.PullPage{Reset: true}, nil
		}
	}
	limit := req.Limit
	if limit <= 0 {
		limit = 500
	}
	end := min(start+limit, len(s.log))
	// Like a change feed of current rows: an entry superseded later in the log is skipped (the
	// later entry delivers the record's current state).
	latest := map[string]int{}
	for i := range s.log {
		latest[s.log[i].obs.ID] = i
	}
	page := sync.PullPage{Cursor: strconv.Itoa(end), HasMore: end < len(s.log)}
	for i := start; i < end; i++ {
		e := s.log[i]
		if latest[e.obs.ID] != i {
			continue
		}
		if e.reason != "" {
			page.Tombstones = append(page.Tombstones, sync.Tombstone{ObservationID: e.obs.ID, Reason: e.reason})
		} else {
			page.Upserts = append(page.Upserts, e.obs)
		}
	}
	return page, nil
}

func (s *fakeServer) Reconcile(context.Context, string, []sync.HashPair) (sync.ReconcileResult, error) {
	return sync.ReconcileResult{}, observation.Precondition("UNIMPLEMENTED", "not in the fake")
}

// writeAs commits a record as another device would (for pulls and conflicts).
func (s *fakeServer) writeAs(device string, r observation.Record) observation.StoredObservation {
	s.mu.Lock()
	defer s.mu.Unlock()
	rev := 1
	if cur := s.records[r.ID]; cur != nil {
		rev = cur.Revision + 1
	}
	next := observation.StoredObservation{Record: r, Revision: rev, ContentHash: r.Hash(), DeviceID: device}
	s.commit(&next, device, "")
	return next
}

// removeAs deletes a record as another device (or a scope change) would.
func (s *fakeServer) removeAs(device, id string, reason sync.TombstoneReason) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.records[id]
	next := *cur
	next.Deleted = true
	next.Revision++
	s.commit(&next, device, reason)
}

func (s *fakeServer) record(id string) (observation.StoredObservation, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.records[id]
	if !ok {
		return observation.StoredObservation{}, false
	}
	return *r, true
}

func (s *fakeServer) nextSeq(device string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d := s.devices[device]; d != nil {
		return d.nextSeq
	}
	return 0
}

// set runs f under the lock, for injecting failures between calls.
func (s *fakeServer) set(f func(s *fakeServer)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f(s)
}
