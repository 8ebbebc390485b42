package supervisor

import (
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"sync"
	"time"
)

// idGenerator makes UUIDv7 request ids (RFC 9562), strictly increasing within the process: time-ordered
// keys land together in the server's idempotency index.
type idGenerator struct {
	mu      sync.Mutex
	lastMs  int64
	counter int64
}

var requestIDs idGenerator

func (g *idGenerator) next() string {
	g.mu.Lock()
	now := time.Now().UnixMilli()
	if now > g.lastMs {
		g.lastMs, g.counter = now, 0
	} else if g.counter++; g.counter > 0xfff {
		g.lastMs, g.counter = g.lastMs+1, 0 // the millisecond is used up: borrow the next one
	}
	ms, counter := g.lastMs, g.counter
	g.mu.Unlock()
	var random [8]byte
	_, _ = rand.Read(random[:])
	tail := binary.BigEndian.Uint64(random[:])&(1<<62-1) | 1<<63
	return fmt.Sprintf("%08x-%04x-%04x-%04x-%012x",
		uint32(ms>>16), uint16(ms), 0x7000|uint16(counter), uint16(tail>>48), tail&(1<<48-1))
}
