package main

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/tablet"
)

// TestTabletSurvivesServerKill records 10,000 observations on a tablet, SIGKILLs the server in
// the middle of pushing them, restarts it, and lets the tablet resume: the server must end with
// exactly 10,000 observations, each with the content hash the tablet computed.
func TestTabletSurvivesServerKill(t *testing.T) {
	if testing.Short() {
		t.Skip("pushes 10,000 observations through a killed server")
	}
	t.Parallel()
	const n = 10000
	dir := t.TempDir()
	db := pgtest.NewDatabase(t)
	env := []string{"DATABASE_URL=" + db}
	mustRun(t, dir, env, "migrate", "up")
	mustRun(t, dir, env, "seed")
	jwks, _ := devKeys(t, dir)
	keyDir := filepath.Join(dir, "keys")
	grpcAddr, httpAddr := freeAddr(t), freeAddr(t)
	serveArgs := []string{"--jwks-file", jwks, "--grpc-addr", grpcAddr, "--http-addr", httpAddr}
	tabletDB := filepath.Join(dir, "tablet.db")
	tabletArgs := []string{"tablet", "--db", tabletDB, "--server", grpcAddr, "--key-dir", keyDir, "--as", "coach"}

	out := mustRun(t, dir, nil, append(tabletArgs, "record", "--n", "10000", "--seed", "7")...)
	if !strings.Contains(out, "10000 changes waiting to sync") {
		t.Fatalf("record: %s", out)
	}

	srv := startServe(t, dir, env, serveArgs...)
	srv.waitReady(t, "http://"+httpAddr)

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	conn, err := pgx.Connect(ctx, db)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	count := func() int {
		var c int
		if err := conn.QueryRow(ctx, `SELECT count(*) FROM observations`).Scan(&c); err != nil {
			t.Fatal(err)
		}
		return c
	}

	// Sync in the background, kill the server once part of the outbox has landed.
	syncCmd := exec.CommandContext(ctx, lookforBin, append(tabletArgs, "sync", "--timeout", "4m")...)
	syncCmd.Dir, syncCmd.Env = dir, baseEnv()
	var syncOut bytes.Buffer
	syncCmd.Stdout, syncCmd.Stderr = &syncOut, &syncOut
	if err := syncCmd.Start(); err != nil {
		t.Fatal(err)
	}
	for c := count(); c < n/5; c = count() {
		if srv.exited() {
			t.Fatalf("server exited early:\n%s", srv.logs.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := srv.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	<-srv.done
	killedAt := count()
	t.Logf("server killed with %d of %d observations stored", killedAt, n)
	if killedAt >= n {
		t.Fatalf("the push finished before the kill; nothing was tested")
	}
	time.Sleep(500 * time.Millisecond) // the tablet sees the server gone and backs off
	srv2 := startServe(t, dir, env, serveArgs...)
	srv2.waitReady(t, "http://"+httpAddr)

	if err := syncCmd.Wait(); err != nil {
		t.Logf("first sync ended with %v:\n%s", err, syncOut.String())
		mustRun(t, dir, nil, append(tabletArgs, "sync")...) // a tablet syncs again later
	}
	status := mustRun(t, dir, nil, append(tabletArgs, "status")...)
	if !strings.Contains(status, "waiting to sync 0") || !strings.Contains(status, "rejected 0") {
		t.Fatalf("tablet after resuming:\n%s\nsync output:\n%s", status, syncOut.String())
	}

	// Exactly n observations, each equal to what the tablet recorded.
	rows, err := conn.Query(ctx, `SELECT observation_id::text, content_hash, revision FROM observations`)
	if err != nil {
		t.Fatal(err)
	}
	server := map[string]string{}
	for rows.Next() {
		var id, hash string
		var rev int
		if err := rows.Scan(&id, &hash, &rev); err != nil {
			t.Fatal(err)
		}
		if rev != 1 {
			t.Errorf("observation %s is at revision %d; a replay must not create revisions", id, rev)
		}
		server[id] = hash
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if len(server) != n {
		t.Fatalf("server has %d observations, want exactly %d", len(server), n)
	}
	var nextSeq int64
	if err := conn.QueryRow(ctx, `SELECT next_seq FROM devices`).Scan(&nextSeq); err != nil {
		t.Fatal(err)
	}
	if nextSeq != n+1 {
		t.Errorf("device next_seq = %d, want %d", nextSeq, n+1)
	}

	c, err := tablet.Open(tabletDB, nil, tablet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	recs, err := c.Records()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != n {
		t.Fatalf("tablet holds %d records, want %d", len(recs), n)
	}
	for _, r := range recs {
		if got, ok := server[r.ID]; !ok || got != r.Hash() {
			t.Fatalf("record %s: server hash %q, tablet hash %q", r.ID, got, r.Hash())
		}
	}
	srv2.stop(t, syscall.SIGTERM)
	_ = os.Remove(tabletDB)
}
