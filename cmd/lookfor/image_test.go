package main

import (
	"debug/elf"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/internal/pgtest"
	"github.com/lookfor-edu/lookfor/observation"
)

// TestImageBinaryRunsWithoutLibc takes lookfor as the container image holds it (CGO_ENABLED=0,
// as scripts/image.sh and the Dockerfile build it), checks that the executable asks for no
// dynamic loader and no shared library, then — as root — runs it chrooted into a folder holding
// only the binary, the CA bundle and a key, exactly the image's FROM scratch file system: it
// migrates and seeds a fresh database, serves, answers a REST call and stops on SIGTERM. (This
// machine cannot run containers; the chroot is the same test of "nothing else is needed".)
func TestImageBinaryRunsWithoutLibc(t *testing.T) {
	t.Parallel()
	root, err := os.MkdirTemp("", "lookfor-image-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(root) })
	// TestMain built lookforBin with CGO_ENABLED=0, as scripts/image.sh and the Dockerfile do
	// (which also strip symbols and paths: no difference to what the binary needs to run).
	bin := filepath.Join(root, "lookfor")
	raw, err := os.ReadFile(lookforBin)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, raw, 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	libs, _ := f.ImportedLibraries()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			t.Fatal("the image's binary asks for a dynamic loader: it would not start FROM scratch")
		}
	}
	f.Close()
	if len(libs) > 0 {
		t.Fatalf("the image's binary needs shared libraries %v", libs)
	}
	if ca, err := os.ReadFile("/etc/ssl/certs/ca-certificates.crt"); err == nil {
		_ = os.MkdirAll(filepath.Join(root, "etc/ssl/certs"), 0o755)
		if err := os.WriteFile(filepath.Join(root, "etc/ssl/certs/ca-certificates.crt"), ca, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	key, jwks, err := identity.EnsureDevKey(filepath.Join(root, "keys"))
	if err != nil {
		t.Fatal(err)
	}

	// Inside the chroot the binary is /lookfor and the key folder /keys.
	chroot := os.Geteuid() == 0
	self, jwksArg := bin, jwks
	if chroot {
		self, jwksArg = "/lookfor", "/keys/"+filepath.Base(jwks)
	} else {
		t.Log("not root: running the static binary without a chroot (the ELF checks above still hold)")
	}
	command := func(args ...string) *exec.Cmd {
		c := exec.Command(self, args...)
		if chroot {
			c.SysProcAttr = &syscall.SysProcAttr{Chroot: root}
			c.Dir = "/"
		}
		c.Env = []string{"DATABASE_URL=" + pgtest.NewDatabase(t)}
		return c
	}
	db := command().Env
	for _, args := range [][]string{{"migrate", "up"}, {"seed"}} {
		c := command(args...)
		c.Env = db
		if out, err := c.CombinedOutput(); err != nil {
			t.Fatalf("lookfor %s without libc: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	httpAddr := freeAddr(t)
	serve := command("serve", "--jwks-file", jwksArg, "--jwt-issuer", "lookfor-image-test", "--grpc-addr", freeAddr(t), "--http-addr", httpAddr)
	serve.Env = db
	logs := &syncBuffer{}
	serve.Stdout, serve.Stderr = logs, logs
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- serve.Wait() }()
	defer func() { _ = serve.Process.Kill() }()
	p := &proc{cmd: serve, logs: logs, done: make(chan struct{})}
	go func() { <-done; close(p.done) }()
	p.waitReady(t, "http://"+httpAddr)

	var coach observation.Principal
	for _, u := range demo.Principals(demo.Network()) {
		if u.Principal.Role == observation.RoleCoach {
			coach = u.Principal
			break
		}
	}
	tok, err := key.Mint(coach, "lookfor-image-test", "lookfor", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("GET", "http://"+httpAddr+"/v1/rubrics", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), observation.DefaultRubricID) {
		t.Fatalf("GET /v1/rubrics from the static binary: %d %s\nlogs:\n%s", resp.StatusCode, body, logs.String())
	}
	if code := p.stop(t, syscall.SIGTERM); code != 0 {
		t.Fatalf("exit %d after SIGTERM\nlogs:\n%s", code, logs.String())
	}
}
