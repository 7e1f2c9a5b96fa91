package tablet_test

import (
	"context"
	"encoding/base64"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/tablet"
)

// These tests run the client against a real server (internal/testenv): the protocol edges of
// docs/sync-protocol.md as the tablet meets them.

func openReal(t *testing.T, e *testenv.Env, p observation.Principal, path string, opts tablet.Options) *tablet.Client {
	t.Helper()
	tok := e.Token(t, p)
	tr := server.NewTransport(e.GRPC, func(context.Context) (string, error) { return tok, nil })
	opts.MaxAttempts, opts.BaseBackoff = 2, time.Millisecond
	c, err := tablet.Open(path, tr, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func serverCount(t *testing.T, e *testenv.Env, sql string, args ...any) int {
	t.Helper()
	var n int
	if err := e.Store.Pool().QueryRow(context.Background(), sql, args...).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

func save(t *testing.T, c *tablet.Client, recs ...observation.Record) {
	t.Helper()
	for _, r := range recs {
		if _, err := c.Save(r); err != nil {
			t.Fatal(err)
		}
	}
}

// With --min-schema-version above 0 the client's pulls must carry its schema version, or every
// pull is refused CLIENT_TOO_OLD.
func TestRealServerPullsCarryTheSchemaVersion(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t, func(c *server.Config) { c.MinSchemaVersion = 3 })
	coach := e.Users[observation.RoleCoach]
	a := openReal(t, e, coach, filepath.Join(t.TempDir(), "a.db"), tablet.Options{SchemaVersion: 3})
	save(t, a, e.Records(t, 301, coach, 2)...)
	if _, err := a.Sync(context.Background()); err != nil {
		t.Fatalf("sync at the minimum schema version: %v", err)
	}
	b := openReal(t, e, coach, filepath.Join(t.TempDir(), "b.db"), tablet.Options{SchemaVersion: 3})
	rep, err := b.Sync(context.Background())
	if err != nil || rep.Pulled != 2 {
		t.Fatalf("a second tablet's pull: %+v %v", rep, err)
	}
	old := openReal(t, e, coach, filepath.Join(t.TempDir(), "old.db"), tablet.Options{SchemaVersion: 2})
	if _, err := old.Sync(context.Background()); observation.KindOf(err) != observation.KindFailedPrecondition || !strings.Contains(err.Error(), "update the lookfor app") {
		t.Fatalf("an older app: %v; want CLIENT_TOO_OLD", err)
	}
}

// A tablet restored from a backup reuses seqs the server already applied to other changes. The
// server answers SEQ_REUSED; the client renumbers the change after the server's seqs and it
// arrives. Before, the server answered with the old change's result and the new record was
// silently dropped from the outbox.
func TestRealServerSeqReusedChangeIsRenumberedNotLost(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	dir := t.TempDir()
	path := filepath.Join(dir, "tablet.db")
	recs := e.Records(t, 302, coach, 4)
	c := openReal(t, e, coach, path, tablet.Options{})
	save(t, c, recs[0])
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	backup := copyFile(t, path, filepath.Join(dir, "backup.db"))
	c = openReal(t, e, coach, path, tablet.Options{})
	save(t, c, recs[1], recs[2]) // seqs 2 and 3
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.Close()

	restored := openReal(t, e, coach, backup, tablet.Options{})
	save(t, restored, recs[3]) // gets seq 2 again, with other content
	rep, err := restored.Sync(context.Background())
	if err != nil {
		t.Fatalf("sync of the restored tablet: %v", err)
	}
	st, err := restored.Status()
	if err != nil {
		t.Fatal(err)
	}
	if st.Pending != 0 || st.Rejected != 0 || st.NextSeq != 5 || rep.Applied != 1 {
		t.Fatalf("restored tablet: %+v, report %+v; want the change applied as seq 4", st, rep)
	}
	for _, r := range recs {
		if n := serverCount(t, e, `SELECT count(*) FROM observations WHERE observation_id = $1 AND content_hash = $2`, r.ID, r.Hash()); n != 1 {
			t.Fatalf("record %s: %d stored with its content, want 1", r.ID, n)
		}
	}
}

// A cursor the server no longer accepts (edited, forged, or signed by an expired key) must not
// stop a tablet: a pull starts over from an empty cursor, and a push still uploads its changes
// and the client then starts its pulls over.
func TestRealServerBadCursorStartsPullsOverAndNeverBlocksUpload(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	path := filepath.Join(t.TempDir(), "tablet.db")
	recs := e.Records(t, 303, coach, 4)
	c := openReal(t, e, coach, path, tablet.Options{})
	save(t, c, recs[:3]...)
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	c.Close()
	forgeCursor(t, path)
	c = openReal(t, e, coach, path, tablet.Options{})
	if _, err := c.Sync(context.Background()); err != nil {
		t.Fatalf("pull with an edited cursor: %v", err)
	}
	c.Close()

	forgeCursor(t, path)
	c = openReal(t, e, coach, path, tablet.Options{})
	save(t, c, recs[3])
	rep, err := c.Sync(context.Background())
	if err != nil {
		t.Fatalf("push with an edited cursor: %v", err)
	}
	st, err := c.Status()
	if err != nil {
		t.Fatal(err)
	}
	if rep.Applied != 1 || st.Pending != 0 || st.Records != 4 {
		t.Fatalf("after pushing with an edited cursor: report %+v, status %+v", rep, st)
	}
	if n := serverCount(t, e, `SELECT count(*) FROM observations`); n != 4 {
		t.Fatalf("%d records on the server, want 4", n)
	}
}

// Two tablets of one coach create the same record id with different content: the second is
// kept as a conflict, on the server and on the tablet, never dropped.
func TestRealServerConcurrentCreateIsKeptAsConflict(t *testing.T) {
	t.Parallel()
	e := testenv.Start(t)
	coach := e.Users[observation.RoleCoach]
	rec := e.Records(t, 304, coach, 1)[0]
	a := openReal(t, e, coach, filepath.Join(t.TempDir(), "a.db"), tablet.Options{})
	b := openReal(t, e, coach, filepath.Join(t.TempDir(), "b.db"), tablet.Options{})
	other := rec
	other.NextSteps = "written on the second tablet"
	save(t, a, rec)
	save(t, b, other)
	if _, err := a.Sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	rep, err := b.Sync(context.Background())
	if err != nil || rep.Conflicts != 1 {
		t.Fatalf("second tablet: %+v %v; want one conflict", rep, err)
	}
	st, err := b.Status()
	if err != nil || st.Conflicts != 1 || st.Pending != 0 {
		t.Fatalf("second tablet: %+v %v", st, err)
	}
	if got, _, ok, err := b.Record(rec.ID); err != nil || !ok || got.NextSteps != other.NextSteps {
		t.Fatalf("the second tablet's version is not kept locally: %+v %v", got, err)
	}
	if n := serverCount(t, e, `SELECT count(*) FROM conflicts WHERE observation_id = $1 AND proposed_hash = $2 AND status = 'open'`, rec.ID, other.Hash()); n != 1 {
		t.Fatalf("%d open conflicts holding the second version, want 1", n)
	}
}

func copyFile(t *testing.T, from, to string) string {
	t.Helper()
	db, err := bolt.Open(from, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error { return tx.CopyFile(to, 0o600) }); err != nil {
		t.Fatal(err)
	}
	return to
}

// forgeCursor edits the stored cursor's payload (widening its snapshot) and keeps its signature.
func forgeCursor(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket([]byte("meta"))
		cur := string(b.Get([]byte("cursor")))
		payload, sig, ok := strings.Cut(cur, ".")
		if !ok {
			t.Fatalf("cursor %q is not signed", cur)
		}
		raw, err := base64.RawURLEncoding.DecodeString(payload)
		if err != nil {
			t.Fatal(err)
		}
		edited := strings.Replace(string(raw), `"v":1`, `"v":1,"s":["any-site"]`, 1)
		if edited == string(raw) {
			t.Fatalf("cursor payload %s has no version", raw)
		}
		return b.Put([]byte("cursor"), []byte(base64.RawURLEncoding.EncodeToString([]byte(edited))+"."+sig))
	})
	if err != nil {
		t.Fatal(err)
	}
}
