package microbatch

import (
	"slices"
	"testing"
	"testing/synctest"
	"time"
)

// A batch closes at its size without waiting for the delay.
func TestNextStopsAtSize(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := make(chan int, 10)
		for i := range 5 {
			in <- i
		}
		g := New(in, 3, time.Hour)
		start := time.Now()
		b, ok := g.Next(nil)
		if !ok || !slices.Equal(b, []int{0, 1, 2}) {
			t.Fatalf("first batch %v %v, want [0 1 2] true", b, ok)
		}
		if d := time.Since(start); d != 0 {
			t.Errorf("a full batch waited %v", d)
		}
		b, ok = g.Next(b)
		if !ok || !slices.Equal(b, []int{3, 4}) || time.Since(start) != time.Hour {
			t.Fatalf("second batch %v %v after %v, want [3 4] true after the 1h delay", b, ok, time.Since(start))
		}
	})
}

// A batch closes delay after its first item, not after the last, and what
// arrives later starts the next batch.
func TestNextClosesAtDelayFromFirst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := make(chan int, 4)
		for i := range 4 { // item i arrives at i*40 ms of the bubble's clock
			time.AfterFunc(time.Duration(i)*40*time.Millisecond, func() { in <- i })
		}
		g := New(in, 100, 100*time.Millisecond)
		start := time.Now()
		b, ok := g.Next(nil)
		if !ok || !slices.Equal(b, []int{0, 1, 2}) {
			t.Fatalf("batch %v %v, want [0 1 2] (items at 0, 40, 80 ms; closed at 100 ms)", b, ok)
		}
		if d := time.Since(start); d != 100*time.Millisecond {
			t.Errorf("batch closed after %v, want 100ms", d)
		}
		b, ok = g.Next(b)
		if !ok || !slices.Equal(b, []int{3}) {
			t.Fatalf("next batch %v %v, want [3]", b, ok)
		}
	})
}

// Closing the channel ends the batch being gathered, which is still
// returned, and then Next reports the end.
func TestNextAfterClose(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		in := make(chan int, 4)
		in <- 7
		in <- 8
		close(in)
		g := New(in, 10, time.Hour)
		start := time.Now()
		b, ok := g.Next(nil)
		if !ok || !slices.Equal(b, []int{7, 8}) || time.Since(start) != 0 {
			t.Fatalf("batch %v %v after %v, want [7 8] true at once", b, ok, time.Since(start))
		}
		if b, ok := g.Next(b); ok || len(b) != 0 {
			t.Fatalf("after close: %v %v, want an empty batch and false", b, ok)
		}
	})
}

// A size below 1 still gathers one item a batch.
func TestNextSizeAtLeastOne(t *testing.T) {
	in := make(chan int, 2)
	in <- 1
	in <- 2
	g := New(in, 0, time.Hour)
	if b, ok := g.Next(nil); !ok || !slices.Equal(b, []int{1}) {
		t.Fatalf("batch %v %v, want [1]", b, ok)
	}
}
