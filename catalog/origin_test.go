package catalog

import (
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"
)

func TestReadLock(t *testing.T) {
	index := `[catalog]
name = "St Mary's"

[[upstreams]]
name = "hspc"
url = "/srv/mirrors/hspc"
publishers = ["hspc"]

[[upstreams]]
name = "riverside"
url = "../mirrors/riverside"
publishers = ["riverside-*"]
`
	lock := `[[upstreams]]
name = 'old'
url = '../mirrors/old'
commit = '95c6ee1c8a85169e4b7787343d8f37be9b79e020'
fetched = '2026-11-02T09:00:00Z'

[[upstreams]]
name = 'hspc'
url = '../mirrors/hspc'
commit = '95c6ee1'
fetched = '2026-11-02T09:00:00Z'
`
	fsys := fstest.MapFS{
		IndexFile:   {Data: []byte(index)},
		LockFile:    {Data: []byte(lock)},
		ProductsDir: {Mode: fs.ModeDir},
	}
	c, ds := Load(fsys)
	if ds.HasErrors() {
		t.Fatal(ds)
	}
	l, ds := ReadLock(fsys, c.Index)
	if l == nil || len(l.Upstreams) != 2 {
		t.Fatalf("ReadLock: %+v", l)
	}
	var b strings.Builder
	ds.Write(&b, "text")
	want := `index.toml:10:8: error: upstream "riverside" is not in upstreams.lock: run ` + "`marketplace upstreams update riverside`" + ` and commit upstreams.lock
upstreams.lock:2:8: warning: upstream "old" is locked but index.toml has no such upstream: run ` + "`marketplace upstreams update`" + ` to drop it
upstreams.lock:9:7: error: upstream "hspc" is locked at url "../mirrors/hspc" but index.toml now says "/srv/mirrors/hspc": run ` + "`marketplace upstreams update hspc`" + `
upstreams.lock:10:10: error: commit "95c6ee1" must be a full 40-character hexadecimal commit hash
`
	if got := b.String(); got != want {
		t.Fatalf("diagnostics:\n%s\nwant:\n%s", got, want)
	}
	// Marshal and ReadLock round-trip.
	data, err := l.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	fsys[LockFile] = &fstest.MapFile{Data: data}
	again, _ := ReadLock(fsys, c.Index)
	if again == nil || len(again.Upstreams) != 2 || again.Upstreams[1] != l.Upstreams[1] {
		t.Fatalf("round trip: %+v, want %+v", again, l)
	}
}
