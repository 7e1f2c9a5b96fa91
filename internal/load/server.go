package load

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	gosync "sync"
	"syscall"
	"time"
)

// serverProc runs `lookfor serve` as a child process on fixed loopback ports, so that it can be
// SIGKILLed and started again on the same ports, and samples its memory.
type serverProc struct {
	bin      string   // the lookfor executable
	args     []string // serve arguments
	httpAddr string
	logPath  string

	mu      gosync.Mutex
	cmd     *exec.Cmd
	done    chan struct{} // closed when cmd has been waited for
	waitErr error
	starts  int
	peakHWM int64 // KiB, the highest VmHWM seen of any process this ran
	stopMon chan struct{}
	monDone chan struct{}
}

// freeLoopbackAddr returns a 127.0.0.1 address with a port that was free a moment ago.
func freeLoopbackAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// start launches the server and waits until /readyz answers 200 (or timeout).
func (s *serverProc) start(ctx context.Context, timeout time.Duration) error {
	s.mu.Lock()
	if s.cmd != nil && !s.exited() {
		s.mu.Unlock()
		return errors.New("load: the server is already running")
	}
	logf, err := os.OpenFile(s.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		s.mu.Unlock()
		return err
	}
	cmd := exec.Command(s.bin, append([]string{"serve"}, s.args...)...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = serverEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} // never outlive the load run
	if err := cmd.Start(); err != nil {
		logf.Close()
		s.mu.Unlock()
		return fmt.Errorf("load: start %s serve: %w", s.bin, err)
	}
	s.cmd, s.done, s.starts = cmd, make(chan struct{}), s.starts+1
	done := s.done
	go func() {
		err := cmd.Wait()
		logf.Close()
		s.mu.Lock()
		s.waitErr = err
		s.mu.Unlock()
		close(done)
	}()
	if s.stopMon == nil {
		s.stopMon, s.monDone = make(chan struct{}), make(chan struct{})
		go s.monitor()
	}
	s.mu.Unlock()
	return s.waitReady(ctx, timeout, done)
}

// serverEnv is the environment of the child: ours without LOOKFOR_* settings, so that only the
// flags the load run passes configure it.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "LOOKFOR_") || strings.HasPrefix(kv, "DATABASE_URL=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func (s *serverProc) exited() bool {
	select {
	case <-s.done:
		return true
	default:
		return false
	}
}

func (s *serverProc) waitReady(ctx context.Context, timeout time.Duration, done chan struct{}) error {
	deadline := time.Now().Add(timeout)
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+s.httpAddr+"/readyz", nil)
		if resp, err := client.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-done:
			return fmt.Errorf("load: the server exited during start-up (%v); log: %s", s.waitErr, s.logPath)
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("load: the server was not ready within %s; log: %s", timeout, s.logPath)
		}
	}
}

// pid returns the running server's pid, 0 when none runs.
func (s *serverProc) pid() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.cmd == nil || s.exited() {
		return 0
	}
	return s.cmd.Process.Pid
}

// kill SIGKILLs the running server and waits for it to be gone.
func (s *serverProc) kill() error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	if cmd == nil {
		return errors.New("load: no server to kill")
	}
	s.sample()
	if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
		return err
	}
	<-done
	return nil
}

// stop ends the server with SIGTERM (a graceful drain), SIGKILL after grace, and stops the
// memory monitor.
func (s *serverProc) stop(grace time.Duration) error {
	s.mu.Lock()
	cmd, done := s.cmd, s.done
	s.mu.Unlock()
	var err error
	if cmd != nil && !s.exited() {
		s.sample()
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
			s.mu.Lock()
			err = s.waitErr
			s.mu.Unlock()
		case <-time.After(grace):
			_ = cmd.Process.Signal(syscall.SIGKILL)
			<-done
			err = fmt.Errorf("load: the server did not stop within %s of SIGTERM", grace)
		}
	}
	if s.stopMon != nil {
		close(s.stopMon)
		<-s.monDone
		s.stopMon = nil
	}
	return err
}

// monitor samples the server's memory a few times a second.
func (s *serverProc) monitor() {
	defer close(s.monDone)
	t := time.NewTicker(200 * time.Millisecond)
	defer t.Stop()
	for {
		select {
		case <-s.stopMon:
			return
		case <-t.C:
			s.sample()
		}
	}
}

func (s *serverProc) sample() {
	pid := s.pid()
	if pid == 0 {
		return
	}
	if kib, err := procStatusKiB(pid, "VmHWM"); err == nil {
		s.mu.Lock()
		s.peakHWM = max(s.peakHWM, kib)
		s.mu.Unlock()
	}
}

// rss is the running server's resident set size now (VmRSS), 0 when it cannot be read.
func (s *serverProc) rss() int64 {
	pid := s.pid()
	if pid == 0 {
		return 0
	}
	kib, err := procStatusKiB(pid, "VmRSS")
	if err != nil {
		return 0
	}
	return kib * 1024
}

// peakRSS is the highest resident set size (VmHWM) of any server process this run started.
func (s *serverProc) peakRSS() int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peakHWM * 1024
}

// procStatusKiB reads a "Field:  123 kB" line of /proc/<pid>/status.
func procStatusKiB(pid int, field string) (int64, error) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			v = strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB"))
			return strconv.ParseInt(v, 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}
