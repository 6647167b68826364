// Package microbatch gathers the items of a channel into batches bounded by
// a size and by a delay from each batch's first item: the function core's
// micro-batching of requests into one ONNX Runtime call and the aggregator's
// batching of records into one store write.
package microbatch

import "time"

// Gatherer reads batches from one channel. It is used by one goroutine.
type Gatherer[T any] struct {
	in    <-chan T
	max   int
	delay time.Duration
	timer *time.Timer // reused, stopped between batches
}

// New returns a Gatherer of batches of at most size (at least 1) items from
// in, each closed delay after its first item arrived.
func New[T any](in <-chan T, size int, delay time.Duration) *Gatherer[T] {
	t := time.NewTimer(time.Hour)
	t.Stop()
	return &Gatherer[T]{in: in, max: max(size, 1), delay: delay, timer: t}
}

// Next waits for an item, then gathers more until the batch holds size items,
// delay has passed since the first, or in is closed. It returns the batch in
// buf[:0] (grown as needed), or false once in is closed and empty.
func (g *Gatherer[T]) Next(buf []T) ([]T, bool) {
	first, ok := <-g.in
	if !ok {
		return buf[:0], false
	}
	batch := append(buf[:0], first)
	g.timer.Reset(g.delay)
	defer g.timer.Stop()
	for len(batch) < g.max {
		select {
		case v, ok := <-g.in:
			if !ok {
				return batch, true
			}
			batch = append(batch, v)
		case <-g.timer.C:
			return batch, true
		}
	}
	return batch, true
}
