package web_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/internal/browser"
	"github.com/lookfor-edu/lookfor/observation"
)

// TestAppRecoversRecordsTheServerLost: the district restores its database from a backup taken
// between two syncs of a tablet (test/app-restore.test.mjs). Phase 1 records 3 observations and
// syncs, then 2 more and syncs; the test then removes from PostgreSQL everything written after
// the backup point, as the restore would: the 2 records, the device's later push results and its
// next_seq, the audit entries, and the progress aggregates (rebuilt from what remains). Phase 2,
// on the same browser profile, presses "Sync now": reconcile reports the 2 `missing`, the app
// queues its own copies again, the server expects the device's seqs from the backup's next_seq
// (the app closes the gap) and applies them. Then every record the app holds is stored once,
// live, with the app's hash, and the app's list equals the server's.
func TestAppRecoversRecordsTheServerLost(t *testing.T) {
	t.Parallel()
	e := browser.Start(t)
	dir := t.TempDir()
	profile, state := filepath.Join(dir, "profile"), filepath.Join(dir, "app-state.json")
	coach := e.Users[observation.RoleCoach]
	env := []string{"COACH=" + coach.UserID, "PROFILE=" + profile, "APP_STATE=" + state}
	e.Node(t, "app-restore.test.mjs", append(env, "PHASE=1")...)

	var before struct {
		BackupAt time.Time `json:"backup_at"`
		Lost     []string  `json:"lost"`
		Records  []struct {
			ID   string `json:"id"`
			Hash string `json:"hash"`
		} `json:"records"`
	}
	b, err := os.ReadFile(state)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &before); err != nil {
		t.Fatal(err)
	}
	if len(before.Records) != 5 || len(before.Lost) != 2 {
		t.Fatalf("phase 1 left %d records, %d to lose; want 5 and 2", len(before.Records), len(before.Lost))
	}
	next := restoreTo(t, e, coach.DistrictID, before.BackupAt, before.Lost)

	e.Node(t, "app-restore.test.mjs", append(env, "PHASE=2")...)
	checkExactlyOnce(t, e, coach.UserID, state)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	hashes := map[string]string{}
	for _, r := range before.Records {
		hashes[r.ID] = r.Hash
	}
	// The app sent its copies under the seqs the restored server expected (it had numbered them
	// after the seqs the server forgot, and closed the gap): nothing else was pushed.
	var after int
	if err := e.Store.Pool().QueryRow(ctx, `SELECT max(next_seq) FROM devices`).Scan(&after); err != nil {
		t.Fatal(err)
	}
	if after != next+len(before.Lost) {
		t.Errorf("the device's next_seq is %d after the recovery; want %d (the restored %d plus the %d records pushed again)", after, next+len(before.Lost), next, len(before.Lost))
	}
	for _, id := range before.Lost {
		var hash string
		var rev int
		if err := e.Store.Pool().QueryRow(ctx, `SELECT content_hash, revision FROM observations
			WHERE observation_id = $1 AND NOT deleted`, id).Scan(&hash, &rev); err != nil {
			t.Errorf("lost observation %s is not back: %v", id, err)
			continue
		}
		if hash != hashes[id] || rev != 1 {
			t.Errorf("observation %s is back as revision %d with hash %s; the app recorded %s before the restore", id, rev, hash, hashes[id])
		}
	}
}

// restoreTo removes from PostgreSQL, in one transaction, what a restore of a backup taken at
// `at` would not have: rows written after it (observations, their revisions, conflicts, push
// results, audit entries, cursor keys), the devices' next_seq and last push moved back to their
// state at `at` (returned: the next seq the restored server expects). Only records created after `at` may be written after it (the test's phase 1
// does not amend), and they must be exactly want. The progress aggregates, a function of the
// stored observations, are then rebuilt as the backup would hold them.
func restoreTo(t *testing.T, e *browser.Env, district string, at time.Time, want []string) (nextSeq int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := e.Store.ReadWriteTx(ctx, func(tx pgx.Tx) error {
		var amended int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM observations WHERE committed_at > $1 AND revision > 1`, at).Scan(&amended); err != nil {
			return err
		}
		if amended != 0 {
			t.Fatalf("%d records were amended after the backup point; restoreTo only undoes creations", amended)
		}
		rows, err := tx.Query(ctx, `DELETE FROM observations WHERE committed_at > $1 RETURNING observation_id::text`, at)
		if err != nil {
			return err
		}
		lost, err := pgx.CollectRows(rows, pgx.RowTo[string])
		if err != nil {
			return err
		}
		slices.Sort(lost)
		if w := slices.Sorted(slices.Values(want)); !slices.Equal(lost, w) {
			t.Fatalf("the restore removes observations %v; phase 1 recorded %v after the backup point", lost, w)
		}
		for _, q := range []string{
			`DELETE FROM observation_revisions WHERE committed_at > $1`,
			`DELETE FROM conflicts WHERE created_at > $1`,
			`DELETE FROM audit_log WHERE at > $1`,
			`DELETE FROM cursor_keys WHERE created_at > $1`,
			// The device's next_seq goes back to its first seq applied after the backup point.
			`WITH gone AS (DELETE FROM push_replies WHERE created_at > $1 RETURNING district_id, device_id, first_seq)
			 UPDATE devices d SET next_seq = g.first,
			        last_push_at = (SELECT max(created_at) FROM push_replies p WHERE p.district_id = d.district_id AND p.device_id = d.device_id)
			 FROM (SELECT district_id, device_id, min(first_seq) AS first FROM gone GROUP BY 1, 2) g
			 WHERE d.district_id = g.district_id AND d.device_id = g.device_id`,
		} {
			if _, err := tx.Exec(ctx, q, at); err != nil {
				return err
			}
		}
		var n int
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM devices WHERE registered_at > $1`, at).Scan(&n); err != nil || n != 0 {
			t.Fatalf("%d devices registered after the backup point (%v)", n, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := e.Store.RebuildProgress(ctx, district); err != nil {
		t.Fatal(err)
	}
	var next int
	if err := e.Store.Pool().QueryRow(ctx, `SELECT max(next_seq) FROM devices`).Scan(&next); err != nil {
		t.Fatal(err)
	}
	t.Logf("restored to %s: observations %v gone, the device's next_seq back to %d", at.Format(time.RFC3339Nano), want, next)
	return next
}
