package load

import (
	"context"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/internal/testenv"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/sync"
	"github.com/lookfor-edu/lookfor/tablet"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestCompare(t *testing.T) {
	exp := []Expected{{ID: "a", Hash: "ha", DeviceID: "d1"}, {ID: "b", Hash: "hb", DeviceID: "d1"}, {ID: "c", Hash: "hc", DeviceID: "d2"}}
	good := []serverRow{{ID: "a", District: "x", Hash: "ha"}, {ID: "b", District: "x", Hash: "hb"}, {ID: "c", District: "y", Hash: "hc"}}
	tests := []struct {
		name                  string
		exp                   []Expected
		rows                  []serverRow
		deviceRows, tableRows int
		ok                    bool
		missing, dup, differ  int
	}{
		{name: "all there once", exp: exp, rows: good, deviceRows: 3, tableRows: 3, ok: true},
		{name: "shared table not counted", exp: exp, rows: good, deviceRows: 3, tableRows: -1, ok: true},
		{name: "missing", exp: exp, rows: good[:2], deviceRows: 2, tableRows: 2, missing: 1},
		{name: "duplicated in another district", exp: exp,
			rows: append(append([]serverRow{}, good...), serverRow{ID: "a", District: "y", Hash: "ha"}), deviceRows: 4, tableRows: 4, dup: 1},
		{name: "other hash", exp: exp, rows: []serverRow{good[0], {ID: "b", District: "x", Hash: "zz"}, good[2]}, deviceRows: 3, tableRows: 3, differ: 1},
		{name: "deleted", exp: exp, rows: []serverRow{good[0], good[1], {ID: "c", District: "y", Hash: "hc", Deleted: true}}, deviceRows: 3, tableRows: 3, differ: 1},
		{name: "devices wrote an extra row", exp: exp, rows: good, deviceRows: 4, tableRows: 4},
		{name: "table holds an extra row", exp: exp, rows: good, deviceRows: 3, tableRows: 4},
		{name: "recorded twice", exp: append(append([]Expected{}, exp...), exp[0]), rows: good, deviceRows: 4, tableRows: 4, dup: 1},
		{name: "nothing recorded", deviceRows: 0, tableRows: 0, ok: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := compare(tc.exp, tc.rows, tc.deviceRows, tc.tableRows)
			if r.OK() != tc.ok || len(r.Missing) != tc.missing || len(r.Duplicate) != tc.dup || len(r.Differ) != tc.differ {
				t.Fatalf("got ok=%v missing=%v dup=%v differ=%v; want ok=%v %d/%d/%d (%s)",
					r.OK(), r.Missing, r.Duplicate, r.Differ, tc.ok, tc.missing, tc.dup, tc.differ, r)
			}
			if !tc.ok && r.String()[:6] != "FAILED" {
				t.Fatalf("a failed check must say so: %s", r)
			}
		})
	}
}

// TestExactlyOnceThroughCutConnections pushes through the cutting proxy with a real tablet
// client and server, then runs the checker against the database: it passes, and it catches a
// changed hash, a duplicate row in another district and a row the tablets never recorded.
func TestExactlyOnceThroughCutConnections(t *testing.T) {
	env := testenv.Start(t)
	grpcAddr, _ := env.Server.Addrs()
	proxy, err := newProxy("127.0.0.1:0", grpcAddr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer proxy.Close()
	proxy.SetCutRate(0.6)

	conn, err := dial(proxy.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	coach := env.Users["coach"]
	tok := env.Token(t, coach)
	m := newMetrics()
	tr := metered{inner: server.NewTransport(conn, func(context.Context) (string, error) { return tok, nil }), m: m}
	c, err := tablet.Open(t.TempDir()+"/tablet.db", tr, tablet.Options{ClientVersion: "test", SchemaVersion: 1,
		Limits: sync.Limits{MaxChanges: 10}, MaxAttempts: 100, BaseBackoff: time.Millisecond, MaxBackoff: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	recs := env.Records(t, 11, coach, 200)
	var exp []Expected
	for _, r := range recs {
		if _, err := c.Save(r); err != nil {
			t.Fatal(err)
		}
		exp = append(exp, Expected{ID: r.ID, Hash: r.Hash(), DeviceID: c.DeviceID()})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	for {
		_, err := c.Sync(ctx)
		st, serr := c.Status()
		if serr != nil {
			t.Fatal(serr)
		}
		if err == nil && st.Pending == 0 {
			break
		}
		if ctx.Err() != nil {
			t.Fatalf("the outbox did not drain through the proxy: %v (pending %d)", err, st.Pending)
		}
	}
	st := proxy.Stats()
	if st.RequestCuts+st.ResponseCuts == 0 {
		t.Fatalf("the proxy cut nothing: %+v", st)
	}
	t.Logf("proxy: %+v; %d replayed results; errors: %s", st, m.snapshot().Replayed, errorCounts(m.snapshot().Errors))

	db := env.Store.Pool()
	res, err := Check(ctx, db, exp, true)
	if err != nil {
		t.Fatal(err)
	}
	if !res.OK() || res.Matched != len(recs) {
		t.Fatalf("check after cut connections: %s", res)
	}

	// A changed hash.
	if _, err := db.Exec(ctx, `UPDATE observations SET content_hash = 'tampered' WHERE observation_id = $1`, recs[0].ID); err != nil {
		t.Fatal(err)
	}
	if res, err = Check(ctx, db, exp, true); err != nil || res.OK() || len(res.Differ) != 1 || res.Differ[0] != recs[0].ID {
		t.Fatalf("a changed hash: %v %s", err, res)
	}
	// The same observation once more, in another district. The schema refuses that (ids are
	// unique across districts), so the index is dropped first: the checker must still see it on
	// a database that lacks the index.
	if _, err := db.Exec(ctx, `INSERT INTO observations SELECT * FROM observations WHERE observation_id = $1`, recs[1].ID); err == nil {
		t.Fatal("the schema accepted an observation id twice")
	}
	if _, err := db.Exec(ctx, `DROP INDEX observations_observation_id_key`); err != nil {
		t.Fatal(err)
	}
	// (Statements without arguments go over the simple protocol, in one implicit transaction.)
	if _, err := db.Exec(ctx, `CREATE TEMP TABLE dup ON COMMIT DROP AS SELECT * FROM observations WHERE observation_id = '`+recs[1].ID+`';
		UPDATE dup SET district_id = 'mesa-verde-sd'; INSERT INTO observations SELECT * FROM dup`); err != nil {
		t.Fatal(err)
	}
	if res, err = Check(ctx, db, exp, true); err != nil || res.OK() || len(res.Duplicate) != 1 || res.TableRows != len(recs)+1 {
		t.Fatalf("a duplicate: %v %s", err, res)
	}
	// A tablet that forgot a record it pushed: the devices wrote more rows than expected.
	if res, err = Check(ctx, db, exp[3:], false); err != nil || res.OK() || res.DeviceRows != len(recs)+1 || res.TableRows != -1 {
		t.Fatalf("rows nobody expected: %v %s", err, res)
	}
}
