package elastic

import (
	"context"
	"sync"
)

// budget bounds the bytes buffered by WriteBatch calls in flight. Waiters
// are served in order, so a large batch is not starved by small ones. A
// single request larger than the whole budget is let through alone.
type budget struct {
	mu      sync.Mutex
	size    int64
	used    int64
	waiters []*waiter
}

type waiter struct {
	n     int64
	ready chan struct{}
}

func newBudget(size int64) *budget { return &budget{size: size} }

func (b *budget) clamp(n int64) int64 { return min(n, b.size) }

// acquire waits until n bytes fit, or ctx ends.
func (b *budget) acquire(ctx context.Context, n int64) error {
	n = b.clamp(n)
	b.mu.Lock()
	if len(b.waiters) == 0 && b.used+n <= b.size {
		b.used += n
		b.mu.Unlock()
		return nil
	}
	w := &waiter{n: n, ready: make(chan struct{})}
	b.waiters = append(b.waiters, w)
	b.mu.Unlock()
	select {
	case <-w.ready:
		return nil
	case <-ctx.Done():
		b.mu.Lock()
		select {
		case <-w.ready:
			// Granted while we were giving up: give it back.
			b.used -= n
		default:
			for i, x := range b.waiters {
				if x == w {
					b.waiters = append(b.waiters[:i], b.waiters[i+1:]...)
					break
				}
			}
		}
		b.wake()
		b.mu.Unlock()
		return ctx.Err()
	}
}

// release returns n bytes (the n given to a successful acquire).
func (b *budget) release(n int64) {
	n = b.clamp(n)
	b.mu.Lock()
	b.used -= n
	b.wake()
	b.mu.Unlock()
}

// wake grants waiters in order while they fit. Caller holds mu.
func (b *budget) wake() {
	for len(b.waiters) > 0 {
		w := b.waiters[0]
		if b.used+w.n > b.size {
			return
		}
		b.used += w.n
		b.waiters = b.waiters[1:]
		close(w.ready)
	}
}
