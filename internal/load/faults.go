package load

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	gosync "sync"
	"time"

	"google.golang.org/grpc"

	"github.com/lookfor-edu/lookfor/identity"
	"github.com/lookfor-edu/lookfor/internal/demo"
	"github.com/lookfor-edu/lookfor/observation"
	"github.com/lookfor-edu/lookfor/server"
	"github.com/lookfor-edu/lookfor/sync"
	"github.com/lookfor-edu/lookfor/tablet"
)

// faulter injects the configured fault into the load phase and judges how the system came
// through it.
type faulter struct {
	cfg      Config
	srv      *serverProc
	proxy    *Proxy
	m        *Metrics
	progress io.Writer
	network  demo.Roster
	key      identity.DevKey
	grpcAddr string

	// pg-restart: a probe device calling the server directly, to see what it answers.
	probeConn *grpc.ClientConn
	probe     tablet.Transport
	probeDev  string

	mu  gosync.Mutex
	rep FaultReport
}

func (f *faulter) prepare(ctx context.Context) error {
	f.rep = FaultReport{Name: f.cfg.Fault, OK: true, Summary: "none"}
	if f.cfg.Fault != FaultPGRestart {
		return nil
	}
	var p observation.Principal
	for _, u := range demo.Principals(f.network) {
		if u.Principal.Role == observation.RoleCoach {
			p = u.Principal
		}
	}
	tok, err := f.key.Mint(p, f.cfg.Issuer, f.cfg.Audience, 12*time.Hour)
	if err != nil {
		return err
	}
	if f.probeConn, err = dial(f.grpcAddr); err != nil {
		return err
	}
	f.probe = server.NewTransport(f.probeConn, func(context.Context) (string, error) { return tok, nil })
	f.probeDev = tablet.NewID()
	_, err = f.probe.RegisterDevice(ctx, f.probeDev, "lookfor-load-probe/1", 1)
	return err
}

func (f *faulter) close() {
	if f.probeConn != nil {
		f.probeConn.Close()
	}
}

func (f *faulter) report() FaultReport {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.rep
}

func (f *faulter) fail(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rep.OK = false
	f.rep.Summary = "FAILED: " + fmt.Sprintf(format, args...)
	fmt.Fprintf(f.progress, "load: fault %s: %s\n", f.cfg.Fault, f.rep.Summary)
}

func (f *faulter) done(format string, args ...any) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rep.Summary = fmt.Sprintf(format, args...)
	fmt.Fprintf(f.progress, "load: fault %s: %s\n", f.cfg.Fault, f.rep.Summary)
}

// waitUntil sleeps until start+frac·Duration; false if ctx ended first.
func (f *faulter) waitUntil(ctx context.Context, start time.Time, frac float64) bool {
	d := time.Until(start.Add(time.Duration(frac * float64(f.cfg.Duration))))
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// run injects the fault during the load phase that started at start; it returns once the fault
// is over and the system is whole again (PostgreSQL up, the server up, cutting off).
func (f *faulter) run(ctx context.Context, start time.Time) {
	switch f.cfg.Fault {
	case FaultPGRestart:
		f.pgRestart(ctx, start)
	case FaultServerKill:
		f.serverKill(ctx, start)
	case FaultConnCut:
		f.connCut(ctx, start)
	}
}

// pgScript runs scripts/pg.sh on the run's throwaway cluster.
func (f *faulter) pgScript(ctx context.Context, verb string) error {
	cmd := exec.CommandContext(ctx, f.cfg.PGScript, verb)
	cmd.Env = append(os.Environ(), "LOOKFOR_DEV_PG_DIR="+f.cfg.PGDir, fmt.Sprintf("LOOKFOR_DEV_PG_PORT=%d", f.cfg.PGPort))
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", f.cfg.PGScript, verb, err, out)
	}
	return nil
}

// probeOnce makes one pull through the probe device and returns the error code ("" for success).
func (f *faulter) probeOnce(ctx context.Context) string {
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err := f.probe.Pull(cctx, sync.PullRequest{DeviceID: f.probeDev, Limit: 1})
	if err != nil {
		return code(err)
	}
	return ""
}

// pgRestart stops PostgreSQL at 35% of the run, keeps it down for Outage, starts it again, and
// checks that the server answered UNAVAILABLE meanwhile and serves again afterwards — without
// having been restarted.
func (f *faulter) pgRestart(ctx context.Context, start time.Time) {
	if !f.waitUntil(ctx, start, 0.35) {
		return
	}
	pid := f.srv.pid()
	fmt.Fprintf(f.progress, "load: fault pg-restart: stopping PostgreSQL (%s) for %s\n", f.cfg.PGDir, f.cfg.Outage)
	down := time.Now()
	if err := f.pgScript(ctx, "stop"); err != nil {
		f.fail("%v", err)
		return
	}
	// Probe the server while the database is down.
	probeCodes := map[string]int{}
	until := time.Now().Add(f.cfg.Outage)
	for time.Now().Before(until) && ctx.Err() == nil {
		probeCodes[f.probeOnce(ctx)]++
		time.Sleep(200 * time.Millisecond)
	}
	if err := f.pgScript(ctx, "start"); err != nil {
		f.fail("%v", err)
		return
	}
	up := time.Now()
	// The server must serve again on its own, without a restart.
	var recovered time.Duration
	for {
		if c := f.probeOnce(ctx); c == "" {
			recovered = time.Since(up)
			break
		}
		if time.Since(up) > 60*time.Second || ctx.Err() != nil {
			f.fail("the server still fails 60 s after PostgreSQL came back (pid %d)", pid)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	// What the tablets saw during the outage.
	tabletUnavailable := 0
	for _, e := range f.m.snapshot().Errors {
		if e.ServerUnavailable() && !e.At.Before(down) && !e.At.After(up.Add(time.Second)) {
			tabletUnavailable++
		}
	}
	probeUnavailable := probeCodes["Unavailable/UNAVAILABLE"]
	switch {
	case probeCodes[""] > 0:
		f.fail("a probe succeeded while PostgreSQL was down: %v", probeCodes)
	case probeUnavailable+tabletUnavailable == 0:
		f.fail("the server never answered UNAVAILABLE while PostgreSQL was down (probe codes %v)", probeCodes)
	case f.srv.pid() != pid || f.srv.starts != 1:
		f.fail("the server was restarted (pid %d → %d)", pid, f.srv.pid())
	default:
		f.done("PostgreSQL down %s; the server answered UNAVAILABLE %d× (probe %d×, tablets %d×); served again %s after PostgreSQL was back, same process (pid %d)",
			up.Sub(down).Round(10*time.Millisecond), probeUnavailable+tabletUnavailable, probeUnavailable, tabletUnavailable,
			recovered.Round(time.Millisecond), pid)
	}
}

// serverKill SIGKILLs the server at 40% of the run and starts it again on the same ports after
// Outage.
func (f *faulter) serverKill(ctx context.Context, start time.Time) {
	if !f.waitUntil(ctx, start, 0.4) {
		return
	}
	// Kill it mid-push: wait (briefly) for pushes in flight.
	inFlight := int64(0)
	for wait := time.Now().Add(5 * time.Second); time.Now().Before(wait); time.Sleep(time.Millisecond) {
		if inFlight = f.m.PushesInFlight(); inFlight > 0 {
			break
		}
	}
	pid := f.srv.pid()
	pushedBefore := f.m.snapshot().Pushed
	fmt.Fprintf(f.progress, "load: fault server-kill: SIGKILL pid %d with %d pushes in flight\n", pid, inFlight)
	killed := time.Now()
	if err := f.srv.kill(); err != nil {
		f.fail("kill: %v", err)
		return
	}
	time.Sleep(f.cfg.Outage)
	if err := f.srv.start(ctx, 30*time.Second); err != nil {
		f.fail("restart: %v", err)
		return
	}
	up := time.Now()
	// Tablets must push again through the new process.
	for !f.m.SuccessAfter("push", up) {
		if time.Since(up) > 60*time.Second || ctx.Err() != nil {
			f.fail("no tablet pushed successfully within 60 s of the restart")
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	f.done("SIGKILLed pid %d with %d pushes in flight, %d changes pushed before; down %s; restarted as pid %d; tablets pushed again %s later",
		pid, inFlight, pushedBefore, up.Sub(killed).Round(10*time.Millisecond), f.srv.pid(), time.Since(up).Round(10*time.Millisecond))
}

// connCut cuts connections at random while pushes are in flight from 10% to 90% of the run.
func (f *faulter) connCut(ctx context.Context, start time.Time) {
	if !f.waitUntil(ctx, start, 0.1) {
		return
	}
	f.proxy.SetCutRate(f.cfg.CutRate)
	from := time.Now()
	f.waitUntil(ctx, start, 0.9)
	f.proxy.SetCutRate(0)
	to := time.Now()
	st := f.proxy.Stats()
	pushErrs := 0
	for _, e := range f.m.snapshot().Errors {
		if e.Op == "push" && !e.At.Before(from) && !e.At.After(to.Add(time.Second)) {
			pushErrs++
		}
	}
	if st.RequestCuts+st.ResponseCuts == 0 || pushErrs == 0 {
		f.fail("nothing was cut (%d request cuts, %d response cuts, %d failed pushes)", st.RequestCuts, st.ResponseCuts, pushErrs)
		return
	}
	f.done("%s of cutting at rate %.2f: %d connections cut mid-request, %d after the server answered (response lost); %d failed pushes; %d connections in all",
		to.Sub(from).Round(time.Second), f.cfg.CutRate, st.RequestCuts, st.ResponseCuts, pushErrs, st.Connections)
}
