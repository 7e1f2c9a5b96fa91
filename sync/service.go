package sync

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/lookfor-edu/lookfor/observation"
)

// Service is the server side of the sync protocol.
type Service struct {
	Store              Store
	Limits             Limits
	TombstoneRetention time.Duration // default 180 days
	MinSchemaVersion   int           // clients below this are refused with CLIENT_TOO_OLD
	defaultPageSize    int           // page size when a pull names none; 0 (nothing sets it today) means 500
	Now                func() time.Time
	cursorKeys         cursorKeys

	// PullMaxBytes bounds a pull page by the stored size of its records (DefaultPullMaxBytes
	// when 0): a page stops early, with has_more and a cursor at its last record, once its
	// records reach it, so what one pull holds in memory does not grow with the page size asked.
	PullMaxBytes int
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC()
}

func (s *Service) limits() Limits {
	l := s.Limits
	if l.MaxChanges <= 0 {
		l.MaxChanges = DefaultLimits.MaxChanges
	}
	if l.MaxBytes <= 0 {
		l.MaxBytes = DefaultLimits.MaxBytes
	}
	return l
}

func (s *Service) retention() time.Duration {
	if s.TombstoneRetention > 0 {
		return s.TombstoneRetention
	}
	return 180 * 24 * time.Hour
}

// canSync: everyone who records observations; analysts only ever see aggregates.
func canSync(p observation.Principal) error {
	switch p.Role {
	case observation.RoleCoach, observation.RolePrincipal, observation.RoleDistrictAdmin:
		return nil
	case observation.RoleAdmin:
		return nil
	}
	return observation.Denied("role %s does not sync observation records", p.Role)
}

func (s *Service) checkClient(schema int) error {
	if schema < s.MinSchemaVersion {
		return observation.Precondition("CLIENT_TOO_OLD",
			"this app's data schema %d is older than the oldest the server accepts (%d); update the lookfor app, your unsynced observations are kept on the tablet", schema, s.MinSchemaVersion)
	}
	return nil
}

// deviceDistrict is the district a device is filed under.
func deviceDistrict(p observation.Principal) string {
	if p.DistrictID == "" {
		return observation.NetworkOwner
	}
	return p.DistrictID
}

// RegisterDevice binds deviceID to the caller; a device already bound to another user is refused.
func (s *Service) RegisterDevice(ctx context.Context, p observation.Principal, deviceID, clientVersion string, schema int) (Device, error) {
	if err := canSync(p); err != nil {
		return Device{}, err
	}
	if err := s.checkClient(schema); err != nil {
		return Device{}, err
	}
	if !observation.IsUUID(deviceID) {
		return Device{}, observation.Invalid("device_id", "BAD_ID", "must be a UUID generated on the tablet")
	}
	audit := observation.Audit(p, deviceDistrict(p), "device.register", "device", deviceID, s.now())
	audit.Details["client_version"], audit.Details["schema_version"] = clientVersion, schema
	d, err := s.Store.RegisterDevice(ctx, Device{ID: deviceID, UserID: p.UserID, DistrictID: deviceDistrict(p),
		NextSeq: 1, ClientVersion: clientVersion, SchemaVersion: schema, RegisteredAt: s.now()}, audit)
	if err != nil {
		return Device{}, err
	}
	if d.UserID != p.UserID {
		return Device{}, observation.Denied("device %s is registered to another user", deviceID)
	}
	return d, nil
}

// device returns the caller's registered device.
func (s *Service) device(ctx context.Context, p observation.Principal, deviceID string) (Device, error) {
	d, err := s.Store.Device(ctx, deviceID)
	if observation.KindOf(err) == observation.KindNotFound {
		return Device{}, notRegistered(deviceID)
	}
	if err != nil {
		return Device{}, err
	}
	if d.UserID != p.UserID {
		return Device{}, notRegistered(deviceID)
	}
	return d, nil
}

// notRegistered answers a sync call on a device that is not the caller's: another user's device
// answers exactly like one nobody registered, so device ids do not leak.
func notRegistered(deviceID string) error {
	return observation.Precondition("DEVICE_NOT_REGISTERED", "device %s is not registered to you; call RegisterDevice first", deviceID)
}

// checkLimits refuses a push over the configured limits before any work is done.
func (s *Service) checkLimits(changes, bytes int) error {
	l := s.limits()
	if changes > l.MaxChanges {
		return &observation.Error{Kind: observation.KindResourceExhausted, Reason: "TOO_MANY_CHANGES", Field: "changes",
			Message: fmt.Sprintf("a push may carry at most %d changes, this one has %d; split it into smaller batches", l.MaxChanges, changes)}
	}
	if bytes > l.MaxBytes {
		return &observation.Error{Kind: observation.KindResourceExhausted, Reason: "PUSH_TOO_LARGE", Field: "changes",
			Message: fmt.Sprintf("a push may be at most %d bytes, this one is %d; split it into smaller batches", l.MaxBytes, bytes)}
	}
	return nil
}

// Push applies a batch. Changes are taken in sequence order: a seq the device already sent gets
// its original result again; the next expected seq is decided and recorded; a seq after a gap
// is held back (SEQUENCE_GAP, naming the expected seq). Everything a push does — records,
// revisions, conflicts, results, the device's next seq — commits in one transaction, or not at
// all (an infrastructure failure, reported as Unavailable).
func (s *Service) Push(ctx context.Context, p observation.Principal, req PushRequest, sizeBytes int) (PushResponse, error) {
	if err := canSync(p); err != nil {
		return PushResponse{}, err
	}
	if err := s.checkClient(req.SchemaVersion); err != nil {
		return PushResponse{}, err
	}
	if err := s.checkLimits(len(req.Changes), sizeBytes); err != nil {
		return PushResponse{}, err
	}
	// A bad cursor never blocks the upload: the changes are decided all the same, and the
	// answer tells the tablet to start its pulls over.
	cur, err := s.decode(ctx, req.Cursor)
	reset := false
	if observation.KindOf(err) == observation.KindInvalid {
		cur, reset = cursor{}, true
	} else if err != nil {
		return PushResponse{}, err
	}
	if _, err := s.device(ctx, p, req.DeviceID); err != nil {
		return PushResponse{}, err
	}
	results := make([]Result, len(req.Changes))
	var txid string
	err = s.Store.Push(ctx, req.DeviceID, func(tx PushTx) error {
		var err error
		txid, err = s.pushTx(ctx, tx, p, req.Changes, results)
		return err
	})
	if err != nil {
		if k := observation.KindOf(err); k == 0 || k == observation.KindUnavailable {
			return PushResponse{}, observation.Unavailable(err, "the push was not applied; retry it")
		}
		return PushResponse{}, err
	}
	if reset {
		return PushResponse{Results: results, Reset: true}, nil
	}
	// The device's own writes committed after its cursor's snapshot; the cursor names their
	// transaction, so pulls skip the rows it wrote that are still current (read-your-writes).
	out, err := s.encode(ctx, cur.withOwn(txid))
	if err != nil {
		return PushResponse{}, err
	}
	return PushResponse{Results: results, Cursor: out}, nil
}

// fingerprint identifies a change's content, so that a seq sent again with other content is
// recognised (SEQ_REUSED) instead of being answered with the first change's result. It is the
// SHA-256 of the JSON of [op, observation id, base revision, fields, record] — for an upsert the
// record as [record with both device times zero, started_at, recorded_at], times as RFC 3339
// text (a time beyond year 9999, rejected but still answered and stored for replay, cannot be
// encoded as JSON); null otherwise. Stored results keep their fingerprints, so these bytes
// never change (TestFingerprintBytes); the record is written by Record.AppendJSON, which writes
// encoding/json's bytes without its reflection.
func fingerprint(ch Change) string {
	head, _ := json.Marshal([]any{ch.Op, ch.ObservationID, ch.BaseRevision, ch.Fields})
	b := head
	if ch.Op == OpUpsert { // one buffer for the whole list, sized for the record
		b = make([]byte, 0, len(head)+ch.Record.JSONSizeHint()+128)
		b = append(b, head...)
	}
	b = append(b[:len(head)-1], ',') // the list goes on
	if ch.Op == OpUpsert {
		r := ch.Record
		started, recorded := r.StartedAt.UTC().Format(time.RFC3339Nano), r.RecordedAt.UTC().Format(time.RFC3339Nano)
		r.StartedAt, r.RecordedAt = time.Time{}, time.Time{}
		var err error
		if b, err = r.AppendJSON(append(b, '[')); err != nil { // zero times always encode
			panic("sync: fingerprint: " + err.Error())
		}
		b = append(b, ',', '"')
		b = append(append(append(b, started...), `","`...), recorded...)
		b = append(b, `"]]`...)
	} else {
		b = append(b, `null]`...)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// fingerprintCanonical is fingerprint for an upsert whose record's canonical JSON
// (observation.Record.Canonical) is already encoded: the same bytes, hashed from that JSON with
// its two device times swapped for the zero time's, instead of encoding the record again. In
// canonical JSON `,"started_at":"` and `,"recorded_at":"` occur only as the record's own keys (a
// quote inside a string is always escaped), and the times' text holds no quote.
func fingerprintCanonical(ch Change, canonical []byte) string {
	const zero = `"0001-01-01T00:00:00Z"`
	s0, s1, okS := jsonTimeValue(canonical, `,"started_at":`)
	r0, r1, okR := jsonTimeValue(canonical, `,"recorded_at":`)
	if ch.Op != OpUpsert || !okS || !okR || s1 > r0 {
		return fingerprint(ch)
	}
	head, _ := json.Marshal([]any{ch.Op, ch.ObservationID, ch.BaseRevision, ch.Fields})
	h := sha256.New()
	h.Write(head[:len(head)-1])
	h.Write([]byte(",["))
	h.Write(canonical[:s0])
	h.Write([]byte(zero))
	h.Write(canonical[s1:r0])
	h.Write([]byte(zero))
	h.Write(canonical[r1:])
	h.Write([]byte(","))
	h.Write(canonical[s0:s1])
	h.Write([]byte(","))
	h.Write(canonical[r0:r1])
	h.Write([]byte("]]"))
	return hex.EncodeToString(h.Sum(nil))
}

// jsonTimeValue finds key in b and returns where its quoted value starts and ends.
func jsonTimeValue(b []byte, key string) (int, int, bool) {
	i := bytes.Index(b, []byte(key))
	if i < 0 || i+len(key) >= len(b) || b[i+len(key)] != '"' {
		return 0, 0, false
	}
	start := i + len(key)
	end := bytes.IndexByte(b[start+1:], '"')
	if end < 0 {
		return 0, 0, false
	}
	return start, start + 1 + end + 1, true
}

func (s *Service) pushTx(ctx context.Context, tx PushTx, p observation.Principal, changes []Change, results []Result) (string, error) {
	dev := tx.Device()
	if dev.UserID != p.UserID {
		return "", notRegistered(dev.ID)
	}
	// Order by seq; remember each change's position for the response.
	order := make([]int, len(changes))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return changes[order[a]].Seq < changes[order[b]].Seq })

	var replaySeqs []int64
	for _, i := range order {
		if changes[i].Seq < dev.NextSeq {
			replaySeqs = append(replaySeqs, changes[i].Seq)
		}
	}
	b := &batchState{p: p, device: dev, now: s.now(), current: map[string]*observation.StoredObservation{},
		existed: map[string]bool{}, dirty: map[string]bool{}, rubrics: map[rubricRef]rubricLookup{}}
	b.writes.created = map[string]bool{}
	stored, err := s.load(ctx, tx, b, changes, replaySeqs)
	if err != nil {
		return "", err
	}

	next := dev.NextSeq
	seen := map[int64]bool{}
	b.writes.Results = slices.Grow(b.writes.Results, len(changes))
	for _, i := range order {
		ch := changes[i]
		switch {
		case ch.Seq < 1:
			results[i] = Result{Seq: ch.Seq, ObservationID: ch.ObservationID, Status: StatusRejected, Reason: ReasonInvalid,
				Field: "seq", Message: "sequence numbers start at 1"}
		case ch.Seq < next && !seen[ch.Seq]:
			r, ok := stored[ch.Seq]
			if !ok {
				return "", fmt.Errorf("device %s: no stored result for applied seq %d", dev.ID, ch.Seq)
			}
			if r.Fingerprint != "" && r.Fingerprint != fingerprint(ch) {
				// Another change under an applied seq: its content would be lost if it were
				// answered with the first change's result. Not applied, not stored.
				results[i] = Result{Seq: ch.Seq, ObservationID: ch.ObservationID, Status: StatusRejected, Reason: ReasonSeqReused,
					Field: "seq", ExpectedSeq: next,
					Message: fmt.Sprintf("sequence %d was already used by another change of this device; send this change again as sequence %d or later", ch.Seq, next)}
				continue
			}
			r.Replayed, r.Fingerprint = true, ""
			results[i] = r
		case ch.Seq == next:
			seen[ch.Seq] = true
			r := b.decide(ch)
			results[i] = r
			if o := b.current[r.ObservationID]; r.Status == StatusApplied && r.Revision == 1 && ch.Op == OpUpsert && o != nil && o.Content != nil {
				// Created from ch.Record as it was sent (upsert): its canonical JSON is at hand.
				r.Fingerprint = fingerprintCanonical(ch, o.Content)
			} else {
				r.Fingerprint = fingerprint(ch)
			}
			b.writes.Results = append(b.writes.Results, r)
			next++
		default: // a gap, or the same seq twice in one batch
			results[i] = Result{Seq: ch.Seq, ObservationID: ch.ObservationID, Status: StatusRejected, Reason: ReasonSequenceGap,
				ExpectedSeq: next, Message: fmt.Sprintf("held back: the server expects sequence %d next", next)}
		}
	}
	for i := range results {
		if results[i].Reason == ReasonSeqReused {
			results[i].ExpectedSeq = next // the device's next seq after this batch: resend from there
			results[i].Message = fmt.Sprintf("sequence %d was already used by another change of this device; send this change again as sequence %d or later", results[i].Seq, next)
		}
	}
	b.writes.Observations = slices.Grow(b.writes.Observations, len(b.dirty))
	for id := range b.dirty {
		b.writes.Observations = append(b.writes.Observations, *b.current[id])
		if !b.existed[id] {
			b.writes.created[id] = true
		}
	}
	sort.Slice(b.writes.Observations, func(i, j int) bool { return b.writes.Observations[i].ID < b.writes.Observations[j].ID })
	b.writes.NextSeq = next
	b.writes.Audit = pushAudit(p, dev, b.now, results)
	return tx.Commit(ctx, b.writes)
}

// pushAudit summarises a push for the audit log: the outcome counts and the records it changed.
func pushAudit(p observation.Principal, dev Device, now time.Time, results []Result) observation.AuditEntry {
	a := observation.Audit(p, dev.DistrictID, "sync.push", "device", dev.ID, now)
	a.DeviceID = dev.ID
	counts := map[string]int{}
	var changed []string
	for _, r := range results {
		key := string(r.Status)
		if r.Replayed {
			key = "replayed"
		} else if r.Status == StatusApplied {
			changed = append(changed, r.ObservationID)
		}
		counts[key]++
	}
	a.Details["changes"], a.Details["outcomes"], a.Details["observation_ids"] = len(results), counts, changed
	return a
}

// load reads, in one round trip, everything the batch's decisions need, and returns the stored
// results of replayed seqs.
func (s *Service) load(ctx context.Context, tx PushTx, b *batchState, changes []Change, replaySeqs []int64) (map[int64]Result, error) {
	district := b.p.DistrictID
	if district == "" { // admins push into the district each record names
		for _, ch := range changes {
			if observation.ValidateID("", ch.Record.DistrictID) == nil { // never look up what cannot be an id
				district = ch.Record.DistrictID
				break
			}
		}
	}
	q := LoadQuery{District: district, ReplaySeqs: replaySeqs}
	refs := map[RubricRef]bool{}
	for _, ch := range changes {
		id := ch.ObservationID
		if id == "" {
			id = ch.Record.ID
		}
		if observation.IsUUID(id) {
			q.IDs = append(q.IDs, id)
		}
		// Ids that cannot be valid (a NUL byte makes the whole query fail) are not looked up:
		// validation rejects their change alone.
		if observation.ValidateID("", ch.Record.ClassroomID) == nil {
			q.Classrooms = append(q.Classrooms, ch.Record.ClassroomID)
		}
		if observation.ValidateID("", ch.Record.RubricID) == nil && !refs[RubricRef{ch.Record.RubricID, ch.Record.RubricVersion}] {
			refs[RubricRef{ch.Record.RubricID, ch.Record.RubricVersion}] = true
			q.Rubrics = append(q.Rubrics, RubricRef{ch.Record.RubricID, ch.Record.RubricVersion})
		}
	}
	got, err := tx.Load(ctx, q)
	if err != nil {
		return nil, err
	}
	if got.District != nil {
		b.district = *got.District
	}
	for id, o := range got.Observations {
		o := o
		b.current[id] = &o
		b.existed[id] = true
	}
	b.elsewhere = got.Elsewhere
	b.classrooms = got.Classrooms
	for ref, v := range got.Rubrics {
		b.rubrics[rubricRef{ref.ID, ref.Version}] = rubricLookup{v: v}
	}
	return got.Results, nil
}

// scope returns the records p may sync.
func scope(p observation.Principal) Scope {
	switch p.Role {
	case observation.RoleAdmin:
		return Scope{All: true, UserID: p.UserID}
	case observation.RoleDistrictAdmin:
		return Scope{DistrictID: p.DistrictID, AllSites: true, UserID: p.UserID}
	}
	sites := slices.Clone(p.SiteIDs)
	sort.Strings(sites)
	return Scope{DistrictID: p.DistrictID, Sites: sites, UserID: p.UserID}
}

// DefaultPullMaxBytes is the byte bound of a pull page when Service.PullMaxBytes is 0: about
// 350 records of the synthetic network's size (2.9 KB of stored content each), so a tablet's
// default page of 500 ends at about 350 when that many are waiting.
const DefaultPullMaxBytes = 1 << 20

// Pull returns one page of what changed in p's scope since the cursor.
func (s *Service) Pull(ctx context.Context, p observation.Principal, req PullRequest, schema int) (PullPage, error) {
	if err := canSync(p); err != nil {
		return PullPage{}, err
	}
	if err := s.checkClient(schema); err != nil {
		return PullPage{}, err
	}
	if _, err := s.device(ctx, p, req.DeviceID); err != nil {
		return PullPage{}, err
	}
	c, err := s.decode(ctx, req.Cursor)
	if err != nil {
		return PullPage{}, err
	}
	sc := scope(p)
	if c.From != "" && (c.Scope != scopeKey(p) || s.now().Sub(c.issuedAt()) > s.retention()) {
		// Older than tombstone retention, or issued for another role or district: a delta
		// could be silently incomplete, so say so.
		return PullPage{Reset: true}, nil
	}
	limit := req.Limit
	if limit <= 0 {
		limit = s.defaultPageSize
	}
	if limit <= 0 {
		limit = 500
	}
	first := c.Upto == ""
	if first {
		snap, err := s.Store.CurrentSnapshot(ctx)
		if err != nil {
			return PullPage{}, err
		}
		c.Upto, c.UptoAt, c.AfterTx, c.AfterID = snap, s.now().Unix(), "0", "00000000-0000-0000-0000-000000000000"
	}
	var added, removed []string
	if c.From != "" && !sc.All && !sc.AllSites {
		added, removed = siteDiff(c.Sites, sc.Sites)
	}
	maxBytes := s.PullMaxBytes
	if maxBytes <= 0 {
		maxBytes = DefaultPullMaxBytes
	}
	rows, cut, err := s.Store.Changes(ctx, ChangeQuery{Scope: sc, From: c.From, Upto: c.Upto, Added: added, Removed: removed,
		AfterTx: c.AfterTx, AfterID: c.AfterID, Limit: limit + 1, MaxBytes: maxBytes, Own: c.Own})
	if err != nil {
		return PullPage{}, err
	}
	// A page cut by bytes ends at its last row like one cut by the page size: the cursor
	// resumes right after it.
	page := PullPage{HasMore: cut || len(rows) > limit}
	if len(rows) > limit {
		rows = rows[:limit]
	}
	if first {
		owners := []string{observation.NetworkOwner}
		if p.DistrictID != "" {
			owners = append(owners, p.DistrictID)
		}
		if sc.All {
			owners = nil
		}
		if page.Rubrics, err = s.Store.RubricChanges(ctx, owners, c.From, c.Upto); err != nil {
			return PullPage{}, err
		}
	}
	if len(rows) > 0 {
		page.Upserts = make([]observation.StoredObservation, 0, len(rows))
	}
	for _, r := range rows {
		switch {
		case r.Removed:
			page.Tombstones = append(page.Tombstones, Tombstone{ObservationID: r.Observation.ID, Reason: TombstoneOutOfScope})
		case r.Observation.Deleted:
			page.Tombstones = append(page.Tombstones, Tombstone{ObservationID: r.Observation.ID, Reason: TombstoneDeleted})
		default:
			page.Upserts = append(page.Upserts, r.Observation)
		}
	}
	if page.HasMore {
		last := rows[len(rows)-1]
		c.AfterTx, c.AfterID = last.TxID, last.Observation.ID
	} else {
		// The cursor's age is that of its snapshot, taken when this paging sequence began, not
		// now: a deletion committed during the sequence is not in the snapshot, and must stay
		// pullable (not purged) for as long as the cursor is accepted.
		// Own writes committed after Upto was taken are not in this sequence: keep skipping them.
		var own []string
		for _, x := range c.Own {
			if !visibleIn(c.Upto, x) {
				own = append(own, x)
			}
		}
		c = cursor{From: c.Upto, Issued: c.UptoAt, Sites: sc.Sites, Scope: scopeKey(p), Own: own}
	}
	if page.Cursor, err = s.encode(ctx, c); err != nil {
		return PullPage{}, err
	}
	if len(page.Upserts) > 0 { // records reached a tablet: a classroom-level read, in each district's log
		a := observation.Audit(p, p.DistrictID, "sync.pull", "device", req.DeviceID, s.now())
		a.DeviceID = req.DeviceID
		a.Details["records"], a.Details["removals"] = len(page.Upserts), len(page.Tombstones)
		reads := make([]auditedRead, len(page.Upserts))
		for i, o := range page.Upserts {
			reads[i] = auditedRead{o.DistrictID, o.ID}
		}
		if err := auditReads(ctx, s.Store, a, reads, false); err != nil {
			return PullPage{}, err
		}
	}
	return page, nil
}

// Reconcile compares the tablet's records with the server's.
func (s *Service) Reconcile(ctx context.Context, p observation.Principal, deviceID string, pairs []HashPair) (ReconcileResult, error) {
	if err := canSync(p); err != nil {
		return ReconcileResult{}, err
	}
	if _, err := s.device(ctx, p, deviceID); err != nil {
		return ReconcileResult{}, err
	}
	var out ReconcileResult
	ids := make([]string, 0, len(pairs))
	for i, hp := range pairs {
		if !observation.IsUUID(hp.ObservationID) {
			// One malformed id is answered on its own; the others are still compared.
			out.Invalid = append(out.Invalid, ItemError{Index: i, ObservationID: clip(strings.ToValidUTF8(strings.ReplaceAll(hp.ObservationID, "\x00", ""), "\uFFFD")),
				Reason: ReasonBadID, Message: fmt.Sprintf("records[%d].observation_id: must be a lowercase UUID", i)})
			continue
		}
		ids = append(ids, hp.ObservationID)
	}
	have, err := s.Store.Hashes(ctx, scope(p), ids)
	if err != nil {
		return ReconcileResult{}, err
	}
	for _, hp := range pairs {
		if !observation.IsUUID(hp.ObservationID) {
			continue
		}
		h, ok := have[hp.ObservationID]
		switch {
		case !ok:
			out.Missing = append(out.Missing, hp.ObservationID)
		case h.Deleted:
			out.Deleted = append(out.Deleted, hp.ObservationID)
		case h.ContentHash != hp.ContentHash:
			out.Differ = append(out.Differ, HashPair{ObservationID: hp.ObservationID, ContentHash: h.ContentHash})
		}
	}
	return out, nil
}

// visibleIn reports whether a committed transaction xid is visible in the snapshot text
// "xmin:xmax:xip,…": below xmax and not in progress when the snapshot was taken.
func visibleIn(snapshot, xid string) bool {
	x, err := strconv.ParseUint(xid, 10, 64)
	parts := strings.SplitN(snapshot, ":", 3)
	if err != nil || len(parts) != 3 {
		return false
	}
	xmin, err1 := strconv.ParseUint(parts[0], 10, 64)
	xmax, err2 := strconv.ParseUint(parts[1], 10, 64)
	if err1 != nil || err2 != nil || x >= xmax {
		return false
	}
	if x < xmin {
		return true
	}
	for _, ip := range strings.Split(parts[2], ",") {
		if ip == xid {
			return false
		}
	}
	return true
}
