//go:build unix

package sqlite

import (
	"fmt"
	"os"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// generation is a counter in a small file beside the database, mapped
// shared into every process that opens the store: the gateway, and the CLI
// when it changes a level. Every revocation adds one after its commit, so a
// process's session cache learns of it at the cost of one memory load.
type generation struct {
	mem []byte
	n   *atomic.Uint64
}

func openGeneration(path string) (*generation, error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600) //nolint:gosec // the path is the session file's, from the configuration
	if err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	defer func() { _ = f.Close() }() // the mapping outlives the descriptor
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("session store: %w", err)
	}
	if fi.Size() < 8 {
		if err := f.Truncate(8); err != nil {
			return nil, fmt.Errorf("session store: %w", err)
		}
	}
	mem, err := syscall.Mmap(int(f.Fd()), 0, 8, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		return nil, fmt.Errorf("session store: map %s: %w", path, err)
	}
	// A mapping starts on a page boundary, so the counter is aligned for
	// atomic access by every process.
	return &generation{mem: mem, n: (*atomic.Uint64)(unsafe.Pointer(&mem[0]))}, nil //nolint:gosec // see above
}

func (g *generation) load() uint64 { return g.n.Load() }

func (g *generation) bump() { g.n.Add(1) }

func (g *generation) close() error { return syscall.Munmap(g.mem) }

// Generation counts the revocations made on this file by every process
// (session.Generations).
func (s *Store) Generation() uint64 { return s.gen.load() }
