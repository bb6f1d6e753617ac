//go:build unix

package serve

import (
	"context"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestShutdownOnSIGTERM sends SIGTERM to the test process, as a service manager would to
// marketplace serve (whose main turns SIGTERM into the end of its context), and expects the
// server to stop accepting connections and return well within the shutdown timeout.
func TestShutdownOnSIGTERM(t *testing.T) {
	out := buildSite(t, "../..")
	ctx, stopSignals := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stopSignals()
	addr := make(chan string, 1)
	done := make(chan error, 1)
	go func() {
		done <- Run(ctx, Options{Dir: out, Addr: "127.0.0.1:0", Log: io.Discard, Ready: func(a string) { addr <- a }})
	}()
	base := "http://" + <-addr
	if resp, _ := get(t, base+"/api/search?q=fhir"); resp.StatusCode != 200 {
		t.Fatalf("before SIGTERM: %s", resp.Status)
	}
	start := time.Now()
	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Run: %v", err)
		}
	case <-time.After(ShutdownTimeout + 2*time.Second):
		t.Fatal("still running after the shutdown timeout")
	}
	if took := time.Since(start); took > ShutdownTimeout {
		t.Errorf("shutdown took %v", took)
	}
	if _, err := http.Get(base + "/"); err == nil {
		t.Error("still accepting connections after shutdown")
	}
}

// TestShutdownLetsRequestsFinish stops a server while a slow request is being answered: the
// request completes, and the server returns only then.
func TestShutdownLetsRequestsFinish(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	inside := make(chan bool)
	slow := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		close(inside)
		time.Sleep(700 * time.Millisecond)
		io.WriteString(w, "finished")
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- serveUntil(ctx, ln, slow, log.New(io.Discard, "", 0)) }()
	reply := make(chan string, 1)
	go func() {
		resp, err := http.Get("http://" + ln.Addr().String() + "/")
		if err != nil {
			reply <- err.Error()
			return
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		reply <- resp.Status + " " + string(b)
	}()
	<-inside
	start := time.Now()
	cancel()
	if got := <-reply; !strings.HasSuffix(got, "finished") {
		t.Errorf("request in flight during shutdown: %q", got)
	}
	if err := <-done; err != nil {
		t.Errorf("serveUntil: %v", err)
	}
	if took := time.Since(start); took < 500*time.Millisecond || took > ShutdownTimeout {
		t.Errorf("shutdown took %v; want it to wait for the request, and no longer than %v", took, ShutdownTimeout)
	}
}
