package elastic

import (
	"context"
	"testing"
	"testing/synctest"
	"time"
)

// In a synctest bubble: synctest.Wait says the second acquire is blocked,
// and the context's timeout passes in fake time.
func TestBudgetBoundsAndOrder(t *testing.T) { synctest.Test(t, testBudgetBoundsAndOrder) }

func testBudgetBoundsAndOrder(t *testing.T) {
	b := newBudget(100)
	ctx := context.Background()
	if err := b.acquire(ctx, 60); err != nil {
		t.Fatal(err)
	}
	// 50 more does not fit: the caller waits...
	got := make(chan error, 1)
	go func() { got <- b.acquire(ctx, 50) }()
	synctest.Wait()
	select {
	case <-got:
		t.Fatal("acquire past the budget did not wait")
	default:
	}
	// ...and a caller whose context ends gives up with its error.
	cctx, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := b.acquire(cctx, 10); err == nil {
		t.Fatal("a small acquire jumped the queue or ignored its context")
	}
	b.release(60)
	if err := <-got; err != nil {
		t.Fatal(err)
	}
	// A request larger than the budget is let through alone.
	b.release(50)
	if err := b.acquire(ctx, 1000); err != nil {
		t.Fatal(err)
	}
	b.release(1000)
	if b.used != 0 || len(b.waiters) != 0 {
		t.Errorf("used %d, waiters %d after releasing all", b.used, len(b.waiters))
	}
}
