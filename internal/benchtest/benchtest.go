// Package benchtest holds what Gatekey's benchmarks report beside their
// timings: the CPU time an operation costs in the test process and in the
// PostgreSQL backends of its database, the share of the machine others
// took meanwhile (which makes every figure noisy when it is high), how
// long goroutines queued for a thread in the test process, and latency
// percentiles.
package benchtest

import (
	"context"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// CPU is CPU time used so far: by this process (Gatekey, its workers, the
// fake Telegram and the senders, all in one), by each PostgreSQL backend
// serving the database (when the server runs on this machine, so that
// /proc shows them), and by the whole machine.
type CPU struct {
	at       time.Time
	self     time.Duration
	backends map[int]time.Duration
	machine  time.Duration // busy time of all CPUs
}

// ReadCPU reads the CPU time used so far; db is a pool on the database
// whose backends count. The processes also (a worker process the
// benchmark started, say) count as this one's.
func ReadCPU(db *pgxpool.Pool, also ...int) CPU {
	u := CPU{at: time.Now(), backends: map[int]time.Duration{}, machine: machineBusy()}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		u.self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	for _, pid := range also {
		if d, ok := procCPU(pid, ""); ok {
			u.self += d
		}
	}
	rows, err := db.Query(context.Background(), "SELECT pid FROM pg_stat_activity WHERE datname = current_database()")
	if err != nil {
		return u
	}
	pids, _ := pgx.CollectRows(rows, pgx.RowTo[int])
	for _, pid := range pids {
		if d, ok := procCPU(pid, "postgres"); ok {
			u.backends[pid] = d
		}
	}
	return u
}

// Report gives the CPU time each of n operations cost between before and
// now, as app-cpu-us/<unit> and pg-cpu-us/<unit>, and other-cpu-%, the
// share of all CPUs that neither took meanwhile (other programs, and
// PostgreSQL's own background processes).
func Report(b *testing.B, before, now CPU, n int, unit string) {
	if n == 0 {
		return
	}
	var pg time.Duration
	for pid, d := range now.backends {
		pg += d - before.backends[pid]
	}
	self := now.self - before.self
	b.ReportMetric(float64(self.Microseconds())/float64(n), "app-cpu-us/"+unit)
	if len(now.backends) == 0 {
		return
	}
	b.ReportMetric(float64(pg.Microseconds())/float64(n), "pg-cpu-us/"+unit)
	if now.machine > 0 {
		wall := now.at.Sub(before.at) * time.Duration(runtime.NumCPU())
		other := now.machine - before.machine - self - pg
		b.ReportMetric(max(0, 100*float64(other)/float64(wall)), "other-cpu-%")
	}
}

// procCPU reads a process's CPU time from /proc, if its command name
// starts with comm (a pid may have been reused).
func procCPU(pid int, comm string) (time.Duration, bool) {
	name, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil || !strings.HasPrefix(string(name), comm) {
		return 0, false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, false
	}
	_, rest, ok := strings.Cut(string(stat), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, false
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, false
	}
	return time.Duration(utime+stime) * time.Second / clockTicks, true
}

// machineBusy reads the machine's busy CPU time from /proc/stat (0 where
// there is none).
func machineBusy() time.Duration {
	stat, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(stat), "\n")
	f := strings.Fields(line)
	if len(f) < 8 || f[0] != "cpu" {
		return 0
	}
	var busy int64
	for i, v := range f[1:8] { // user nice system idle iowait irq softirq
		n, _ := strconv.ParseInt(v, 10, 64)
		if i != 3 && i != 4 {
			busy += n
		}
	}
	return time.Duration(busy) * time.Second / clockTicks
}

// clockTicks is USER_HZ, the unit of /proc/<pid>/stat times: 100 on Linux.
const clockTicks = 100

// Percentile is the q-quantile (0.99 for p99) of sorted latencies.
func Percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	i := int(q*float64(len(sorted))+0.5) - 1
	return sorted[min(max(i, 0), len(sorted)-1)]
}

// Ms is d in milliseconds, for b.ReportMetric.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
