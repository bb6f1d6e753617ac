package verify

import (
	"fmt"
	"io"
	"os"
	"sync"

	"golang.org/x/term"
)

// progress reports how far verification is: a line redrawn in place on a terminal, and one
// summary line at the end everywhere else, so logs stay short.
type progress struct {
	mu     sync.Mutex
	w      io.Writer
	tty    bool
	total  int
	done   int
	failed int
}

func newProgress(w io.Writer, total int) *progress {
	p := &progress{w: w, total: total}
	if f, ok := w.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		p.tty = true
	}
	if p.tty && total > 0 {
		fmt.Fprintf(w, "\rverify: 0/%d images", total)
	}
	return p
}

// step records one finished image.
func (p *progress) step(failed bool) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if failed {
		p.failed++
	}
	if p.tty {
		fmt.Fprintf(p.w, "\rverify: %d/%d images, %d failed", p.done, p.total, p.failed)
	}
}

// finish ends the progress line, or prints the summary.
func (p *progress) finish(r *Report, offline bool) {
	if p.w == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.tty {
		fmt.Fprintln(p.w)
		return
	}
	if offline {
		fmt.Fprintf(p.w, "verify: %d images, %d failed (offline)\n", p.total, p.failed)
		return
	}
	fmt.Fprintf(p.w, "verify: %d images, %d failed, %d without registry requests, %d registry requests\n",
		p.total, p.failed, r.Cached, r.Requests)
}
