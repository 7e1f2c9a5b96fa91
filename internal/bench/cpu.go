package bench

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CPU is processor time: this process's (client and server, Go) and that of the PostgreSQL
// backends serving the bench's database. Unlike throughput it barely moves with what else the
// machine runs, so it tells which side a change made cheaper even on a busy machine.
type CPU struct {
	Go, Postgres time.Duration
	PostgresOK   bool // false: the backends' times could not be read (PostgreSQL on another host)
}

func (c CPU) sub(o CPU) CPU {
	return CPU{Go: c.Go - o.Go, Postgres: c.Postgres - o.Postgres, PostgresOK: c.PostgresOK && o.PostgresOK}
}

func (c CPU) add(o CPU) CPU {
	if c == (CPU{}) {
		return o
	}
	return CPU{Go: c.Go + o.Go, Postgres: c.Postgres + o.Postgres, PostgresOK: c.PostgresOK && o.PostgresOK}
}

// per divides the times by n (per observation).
func (c CPU) per(n int) CPU {
	if n == 0 {
		return c
	}
	return CPU{Go: c.Go / time.Duration(n), Postgres: c.Postgres / time.Duration(n), PostgresOK: c.PostgresOK}
}

// String renders CPU per observation: "Go 120µs + PostgreSQL 210µs".
func (c CPU) String() string {
	pg := "n/a"
	if c.PostgresOK {
		pg = c.Postgres.Round(time.Microsecond).String()
	}
	return fmt.Sprintf("Go %s + PostgreSQL %s", c.Go.Round(time.Microsecond), pg)
}

// cpu reads the CPU time used so far by this process and by the backends connected to the
// bench's database (from /proc, when PostgreSQL runs on this machine). A backend that exits
// between two readings takes its time with it; the bench's pool keeps its connections open.
func (b *bencher) cpu(ctx context.Context) CPU {
	var out CPU
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		out.Go = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	var pids []int32
	if err := b.st.Pool().QueryRow(ctx, `SELECT coalesce(array_agg(pid), '{}') FROM pg_stat_activity
		WHERE datname = current_database()`).Scan(&pids); err != nil {
		return out
	}
	out.PostgresOK = true
	for _, pid := range pids {
		t, ok := procCPU(pid)
		if !ok {
			out.PostgresOK = false
			return out
		}
		out.Postgres += t
	}
	return out
}

// clockTick is the unit of /proc/<pid>/stat times (USER_HZ, 100 on Linux).
const clockTick = 10 * time.Millisecond

// procCPU returns the user and system time of process pid from /proc.
func procCPU(pid int32) (time.Duration, bool) {
	raw, err := os.ReadFile("/proc/" + strconv.Itoa(int(pid)) + "/stat")
	if err != nil {
		return 0, false
	}
	// The command name (field 2) is in parentheses and may hold spaces: count from after it.
	s := string(raw)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 { // fields 3… ; utime and stime are fields 14 and 15
		return 0, false
	}
	u, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(u+st) * clockTick, true
}
