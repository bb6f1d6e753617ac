package search

import (
	"fmt"
	"os"
)

// spillBytes is how much of the compact index's files a build holds in memory: past it, they go
// to a temporary file until they are written out. A 100 000-product catalog's compact index is
// about 310 MB, which would otherwise stay on the heap while every other page is planned.
const spillBytes = 64 << 20

// spillAt is spillBytes, but for the tests, which spill small indexes.
var spillAt = spillBytes

// shardStore keeps the compact index's files from when Pages makes them until the writer asks
// for them: in memory while they are small, then in an anonymous temporary file — created and
// unlinked at once, so that nothing is left behind whatever happens to the process, and the
// space returns to the system when the last page that reads it is gone.
type shardStore struct {
	mem    map[string][]byte
	size   int
	file   *os.File // once spilled
	at     map[string]extent
	limit  int
	cannot bool // spilling was tried and could not be done: everything stays in memory
}

type extent struct{ off, n int64 }

func newShardStore(limit int) *shardStore {
	return &shardStore{mem: map[string][]byte{}, at: map[string]extent{}, limit: limit}
}

// put keeps data under name. The same name always holds the same data (names are hashes of
// the content), so a second put of a name is a no-op.
func (s *shardStore) put(name string, data []byte) {
	if _, ok := s.mem[name]; ok {
		return
	}
	if _, ok := s.at[name]; ok {
		return
	}
	s.size += len(data)
	if s.file == nil && !s.cannot && s.size > s.limit {
		s.spill()
	}
	if s.file == nil {
		s.mem[name] = data
		return
	}
	if err := s.append(name, data); err != nil {
		// The disk refused: keep this one in memory, as a build without the store would.
		s.mem[name] = data
	}
}

// spill moves what is in memory to a new unlinked temporary file; where that cannot be done
// (no writable temporary folder, or a system that does not unlink open files), everything
// stays in memory.
func (s *shardStore) spill() {
	s.cannot = true // until it is done
	f, err := os.CreateTemp("", "marketplace-search-*")
	if err != nil {
		return
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		os.Remove(f.Name())
		return
	}
	s.cannot = false
	s.file = f
	for name, data := range s.mem {
		if err := s.append(name, data); err != nil {
			return // the rest stays in memory
		}
		delete(s.mem, name)
	}
}

func (s *shardStore) append(name string, data []byte) error {
	off, err := s.file.Seek(0, 2)
	if err != nil {
		return err
	}
	if _, err := s.file.Write(data); err != nil {
		// Whatever part was written is never read: the next append starts at the new end.
		return err
	}
	s.at[name] = extent{off, int64(len(data))}
	return nil
}

// names returns every name kept.
func (s *shardStore) names() []string {
	out := make([]string, 0, len(s.mem)+len(s.at))
	for name := range s.mem {
		out = append(out, name)
	}
	for name := range s.at {
		out = append(out, name)
	}
	return out
}

// total is the size of everything kept.
func (s *shardStore) total() int { return s.size }

// get returns a function that reads name's data back; it may be called any number of times,
// from any goroutine.
func (s *shardStore) get(name string) func() ([]byte, error) {
	if data, ok := s.mem[name]; ok {
		return func() ([]byte, error) { return data, nil }
	}
	e, f := s.at[name], s.file
	return func() ([]byte, error) {
		data := make([]byte, e.n)
		if _, err := f.ReadAt(data, e.off); err != nil {
			return nil, fmt.Errorf("reading back the search shard %s: %w", name, err)
		}
		return data, nil
	}
}
