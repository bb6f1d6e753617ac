// Package measure takes the figures the benchmark programs print: wall time, CPU time and peak
// resident memory of one piece of work, and the machine's load while it ran.
package measure

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Figures are what one Run measured.
type Figures struct {
	Wall    time.Duration
	CPU     time.Duration // user + system, all threads
	PeakRSS uint64        // bytes; 0 when unknown
	Load    string        // 1-minute load average at the end
}

// Run measures f. The peak is the kernel's high-water mark, reset before f where Linux allows.
func Run(f func()) Figures {
	runtime.GC()
	resetPeakRSS()
	cpu := CPUTime()
	start := time.Now()
	f()
	fig := Figures{Wall: time.Since(start), CPU: CPUTime() - cpu, Load: LoadAverage()}
	fig.PeakRSS, _ = PeakRSS()
	return fig
}

// String formats the figures on one line.
func (f Figures) String() string {
	cores := runtime.GOMAXPROCS(0)
	return fmt.Sprintf("wall %s, CPU %s (%s per core on %d), peak RSS %d MiB, load average %s",
		f.Wall.Round(time.Millisecond), f.CPU.Round(time.Millisecond),
		(f.CPU / time.Duration(cores)).Round(time.Millisecond), cores, f.PeakRSS>>20, f.Load)
}

// resetPeakRSS resets the kernel's RSS high-water mark to the current RSS (Linux 4.0 and later)
// and reports whether it could.
func resetPeakRSS() bool {
	return os.WriteFile("/proc/self/clear_refs", []byte("5"), 0) == nil
}

// ResetPeakRSS resets the high-water mark and reports whether it could.
func ResetPeakRSS() bool { return resetPeakRSS() }

// PeakRSS returns VmHWM from /proc/self/status, in bytes.
func PeakRSS() (uint64, error) {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseUint(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				return 0, fmt.Errorf("reading VmHWM: %w", err)
			}
			return kb << 10, nil
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("no VmHWM in /proc/self/status")
}

// CPUTime returns the user and system CPU time the process has used. Unlike wall time, it does
// not grow when other work shares the machine.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// LoadAverage returns the 1-minute load average, or "unknown".
func LoadAverage() string {
	data, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	if f := strings.Fields(string(data)); len(f) > 0 {
		return f[0]
	}
	return "unknown"
}

// Figure prints one figure for bench/all's table: a tab-separated line "figure", what was
// measured, the figure, and the target with its verdict ("" when none).
func Figure(what, figure, target string) {
	fmt.Printf("figure\t%s\t%s\t%s\n", what, figure, target)
}

// Short formats the figures for a table cell.
func (f Figures) Short() string {
	cores := runtime.GOMAXPROCS(0)
	return fmt.Sprintf("%s wall, %s CPU, %d MiB peak, load %s", f.Wall.Round(10*time.Millisecond),
		f.CPU.Round(10*time.Millisecond), f.PeakRSS>>20, f.Load) + fmt.Sprintf(" (%d cores)", cores)
}

// Child runs cmd and measures it as the kernel counted it for the child process: wall time, its
// CPU time (user + system) and its peak RSS. Check cmd.ProcessState for how it ended.
func Child(cmd *exec.Cmd) Figures {
	start := time.Now()
	cmd.Run()
	fig := Figures{Wall: time.Since(start), Load: LoadAverage()}
	if cmd.ProcessState != nil {
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			fig.CPU = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
			fig.PeakRSS = uint64(ru.Maxrss) << 10
		}
	}
	return fig
}

// HeapAtPeak samples the live heap every 100 ms and keeps a heap profile of the largest it saw
// in file; the returned function stops sampling.
func HeapAtPeak(file string) func() {
	done := make(chan struct{})
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		var peak uint64
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		tick := time.NewTicker(100 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			if live := sample[0].Value.Uint64(); live > peak+peak/20 {
				peak = live
				var buf bytes.Buffer
				if pprof.Lookup("heap").WriteTo(&buf, 0) == nil {
					os.WriteFile(file, buf.Bytes(), 0o644)
				}
			}
		}
	}()
	return func() { close(done); <-finished }
}
