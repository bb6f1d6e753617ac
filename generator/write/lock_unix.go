//go:build unix

package write

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// lock takes the output's lock file (beside the output) with flock(2), so two builds never
// write one output at once. The kernel releases the lock when its holder exits, even by kill -9,
// so a lock is never stale: a lock file left by a killed build is simply taken by the next one.
// The holder removes the file when it is done (still holding the lock, and a taker checks that the
// file it locked is still the one at the path), and writes its pid into it for the message a
// second build prints.
func lock(file, dir string) (unlock func(), err error) {
	for range 100 {
		f, err := os.OpenFile(file, os.O_RDWR|os.O_CREATE, 0o644)
		if err != nil {
			return nil, err
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			defer f.Close()
			if errors.Is(err, unix.EWOULDBLOCK) {
				holder := ""
				if data, err := os.ReadFile(file); err == nil && len(strings.TrimSpace(string(data))) > 0 {
					holder = " (pid " + strings.TrimSpace(string(data)) + ")"
				}
				return nil, fmt.Errorf("another build%s is writing %s; try again when it has finished", holder, dir)
			}
			return nil, fmt.Errorf("locking %s: %w", file, err)
		}
		var held, now unix.Stat_t
		if unix.Fstat(int(f.Fd()), &held) != nil || unix.Stat(file, &now) != nil || held.Dev != now.Dev || held.Ino != now.Ino {
			f.Close() // the previous holder removed this file after we opened it: try the new one
			continue
		}
		if err := f.Truncate(0); err == nil {
			f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
		}
		return func() {
			os.Remove(file)
			f.Close() // releases the lock
		}, nil
	}
	return nil, fmt.Errorf("locking %s: the lock file keeps changing", file)
}
