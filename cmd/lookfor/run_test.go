package main

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestMakeRunStopsOnCtrlC runs `make run` as a person would, twice. First with no database: it
// builds (saying so), creates a throwaway PostgreSQL, migrates, seeds and serves; Ctrl-C — SIGINT
// to make's process group, as a terminal sends it — stops the server, the development OpenID
// Provider and the cluster. Then with DATABASE_URL naming that same cluster, started by hand:
// the banner says the database was there already, nothing was migrated and no observation was
// added, and Ctrl-C leaves that database running.
func TestMakeRunStopsOnCtrlC(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Fatal("make is needed: this test is about `make run`")
	}
	repo, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	pgDir, err := os.MkdirTemp("", "lookfor-run-pg-")
	if err != nil {
		t.Fatal(err)
	}
	_ = os.Chmod(pgDir, 0o755) // as root the cluster runs as the postgres user, who must enter it
	_, pgPort, _ := net.SplitHostPort(freeAddr(t))
	env := baseEnv("LOOKFOR_DEV_PG_DIR="+pgDir, "LOOKFOR_DEV_PG_PORT="+pgPort)
	pgsh := func(args ...string) (string, int) {
		c := exec.Command(filepath.Join(repo, "scripts/pg.sh"), args...)
		c.Dir, c.Env = repo, env
		out, err := c.Output()
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		return strings.TrimSpace(string(out)), 0
	}
	t.Cleanup(func() {
		pgsh("stop")
		_ = os.RemoveAll(pgDir)
	})

	// run starts make run, waits for the server to answer, checks the banner, sends SIGINT to
	// the process group and waits for make to exit.
	run := func(extra []string, banner []string, notBanner []string) {
		t.Helper()
		httpAddr, grpcAddr, idpAddr := freeAddr(t), freeAddr(t), freeAddr(t)
		_, idpPort, _ := net.SplitHostPort(idpAddr)
		out := &syncBuffer{}
		mk := exec.Command("make", "--no-print-directory", "run")
		mk.Dir = repo
		mk.Env = append(append(env, extra...), "LOOKFOR_HTTP_ADDR="+httpAddr, "LOOKFOR_GRPC_ADDR="+grpcAddr, "LOOKFOR_DEV_IDP_PORT="+idpPort)
		mk.Stdout, mk.Stderr = out, out
		mk.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
		if err := mk.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan struct{})
		go func() { _ = mk.Wait(); close(done) }()
		defer func() { // whatever happened, nothing of this run outlives the test
			_ = syscall.Kill(-mk.Process.Pid, syscall.SIGKILL)
			<-done
		}()
		// The first build may compile for minutes on a busy machine: wait for the banner.
		deadline := time.Now().Add(15 * time.Minute)
		for !strings.Contains(out.String(), "lookfor is starting") || !answers(httpAddr) {
			select {
			case <-done:
				t.Fatalf("make run exited before serving:\n%s", out.String())
			case <-time.After(200 * time.Millisecond):
			}
			if time.Now().After(deadline) {
				t.Fatalf("make run did not serve within 15 minutes:\n%s", out.String())
			}
		}
		for _, want := range banner {
			if !strings.Contains(out.String(), want) {
				t.Errorf("make run's output lacks %q:\n%s", want, out.String())
			}
		}
		for _, bad := range notBanner {
			if strings.Contains(out.String(), bad) {
				t.Errorf("make run's output says %q, which is not true here:\n%s", bad, out.String())
			}
		}
		if err := syscall.Kill(-mk.Process.Pid, syscall.SIGINT); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-time.After(2 * time.Minute):
			t.Fatalf("make run still running 2 minutes after Ctrl-C:\n%s", out.String())
		}
		for _, a := range []string{httpAddr, grpcAddr, idpAddr} {
			if answers(a) {
				t.Errorf("%s still accepts connections after Ctrl-C", a)
			}
		}
		if !strings.Contains(out.String(), "stopped") {
			t.Errorf("the server did not drain and stop:\n%s", out.String())
		}
	}

	run(nil,
		[]string{"run: built bin/lookfor", "a throwaway PostgreSQL created now", "applied now", "loaded now: 3 districts"},
		[]string{"your database"})
	if out, code := pgsh("status"); code != 3 {
		t.Fatalf("the throwaway PostgreSQL still runs after Ctrl-C (%d): %s", code, out)
	}

	// The same cluster, started by hand and named by DATABASE_URL: make run finds everything there.
	if _, code := pgsh("start"); code != 0 {
		t.Fatal("pg.sh start failed")
	}
	url, _ := pgsh("url")
	run([]string{"DATABASE_URL=" + url},
		[]string{"your database (DATABASE_URL): make run did not create it", "none pending", "already present: no observation added"},
		[]string{"created now", "loaded now", "applied now", "stopping the throwaway PostgreSQL"})
	if out, code := pgsh("status"); code != 0 {
		t.Fatalf("make run stopped a database it did not start (%d): %s", code, out)
	}
}

// answers reports whether something accepts TCP connections at addr.
func answers(addr string) bool {
	c, err := net.DialTimeout("tcp", addr, time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}
