package pgtest

import (
	"context"
	"fmt"
	"net"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// Cluster is a PostgreSQL cluster a test started with the server programs (initdb, pg_ctl,
// pg_basebackup) found as scripts/pg.sh finds them, run as the postgres OS user when the test
// runs as root (PostgreSQL refuses to run as root). It listens on a free loopback port.
type Cluster struct {
	Dir  string
	Port int
	bin  string
	log  string
}

// URL is the cluster's postgres database.
func (c *Cluster) URL() string {
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", c.Port)
}

// Replicated starts a primary and a hot standby streaming from it (pg_basebackup -R), both
// stopped and removed when t ends. It skips t when no PostgreSQL server programs are installed.
func Replicated(t testing.TB) (primary, standby *Cluster) {
	t.Helper()
	bin, err := bindir()
	if err != nil {
		t.Skipf("a replicated cluster needs the PostgreSQL server programs: %v", err)
	}
	base, err := os.MkdirTemp("", "lookfor-replica-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = os.RemoveAll(base) })
	if err := ownByPostgres(base); err != nil {
		t.Fatal(err)
	}
	primary = &Cluster{Dir: filepath.Join(base, "primary"), Port: freePort(t), bin: bin, log: filepath.Join(base, "primary.log")}
	if out, err := pgRun(bin, "initdb", "-D", primary.Dir, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	if err := primary.configure("wal_level = replica", "max_wal_senders = 4", "hot_standby = on", "fsync = off",
		"synchronous_commit = off", "full_page_writes = off"); err != nil {
		t.Fatal(err)
	}
	primary.start(t)
	standby = &Cluster{Dir: filepath.Join(base, "standby"), Port: freePort(t), bin: bin, log: filepath.Join(base, "standby.log")}
	if out, err := pgRun(bin, "pg_basebackup", "-h", "127.0.0.1", "-p", strconv.Itoa(primary.Port), "-U", "postgres",
		"-D", standby.Dir, "-R", "-X", "stream", "-c", "fast", "--no-sync"); err != nil {
		t.Fatalf("pg_basebackup: %v\n%s", err, out)
	}
	if err := standby.configure(); err != nil { // its own port after the primary's copied settings
		t.Fatal(err)
	}
	standby.start(t)
	return primary, standby
}

// configure appends the port, the socket folder and settings to postgresql.conf (later lines win).
func (c *Cluster) configure(settings ...string) error {
	f, err := os.OpenFile(filepath.Join(c.Dir, "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	defer f.Close()
	lines := append([]string{fmt.Sprintf("port = %d", c.Port), "listen_addresses = '127.0.0.1'",
		fmt.Sprintf("unix_socket_directories = '%s'", filepath.Dir(c.Dir))}, settings...)
	_, err = f.WriteString("\n" + strings.Join(lines, "\n") + "\n")
	return err
}

func (c *Cluster) start(t testing.TB) {
	t.Helper()
	if out, err := pgRun(c.bin, "pg_ctl", "-D", c.Dir, "-l", c.log, "-w", "-t", "60", "start"); err != nil {
		logText, _ := os.ReadFile(c.log)
		t.Fatalf("pg_ctl start %s: %v\n%s\n%s", c.Dir, err, out, logText)
	}
	t.Cleanup(func() { _, _ = pgRun(c.bin, "pg_ctl", "-D", c.Dir, "-m", "immediate", "-w", "stop") })
}

// Exec runs one statement on the cluster's postgres database.
func (c *Cluster) Exec(ctx context.Context, sql string) error {
	conn, err := pgx.Connect(ctx, c.URL())
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	_, err = conn.Exec(ctx, sql)
	return err
}

// CaughtUp waits until standby has replayed everything primary had written when it was called
// (a hot standby replays asynchronously: a schema the primary migrated a moment ago may not be
// there yet), failing t after a minute.
func CaughtUp(t testing.TB, primary, standby *Cluster) {
	t.Helper()
	ctx := context.Background()
	p, err := pgx.Connect(ctx, primary.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close(ctx)
	var lsn string
	if err := p.QueryRow(ctx, `SELECT pg_current_wal_lsn()::text`).Scan(&lsn); err != nil {
		t.Fatal(err)
	}
	s, err := pgx.Connect(ctx, standby.URL())
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close(ctx)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(20 * time.Millisecond) {
		var done bool
		if err := s.QueryRow(ctx, `SELECT coalesce(pg_last_wal_replay_lsn() >= $1::pg_lsn, false)`, lsn).Scan(&done); err != nil {
			t.Fatal(err)
		}
		if done {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the standby has not replayed the primary's WAL up to %s in a minute", lsn)
		}
	}
}

// bindir is the folder with initdb and pg_ctl: pg_config's, else the newest Debian one.
func bindir() (string, error) {
	if out, err := osexec.Command("pg_config", "--bindir").Output(); err == nil {
		d := strings.TrimSpace(string(out))
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	return "", fmt.Errorf("no initdb in pg_config --bindir or /usr/lib/postgresql/*/bin")
}

func versionOf(dir string) int {
	n, _ := strconv.Atoi(filepath.Base(filepath.Dir(dir)))
	return n
}

// pgRun runs a server program, as the postgres OS user when this process is root.
func pgRun(bin, prog string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	path := filepath.Join(bin, prog)
	cmd := osexec.CommandContext(ctx, path, args...)
	if os.Geteuid() == 0 {
		cmd = osexec.CommandContext(ctx, "runuser", append([]string{"-u", "postgres", "--", path}, args...)...)
	}
	cmd.Dir = "/"
	return cmd.CombinedOutput()
}

// ownByPostgres gives dir to the postgres OS user when running as root.
func ownByPostgres(dir string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root, but there is no postgres OS user to run PostgreSQL as: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(dir, uid, gid)
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
