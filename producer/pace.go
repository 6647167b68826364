package producer

import (
	"context"
	"time"
)

// Clock is the time source of the pacer; tests inject a fake one.
type Clock interface {
	Now() time.Time
	// Sleep waits for d or until ctx ends (then it returns ctx.Err()).
	Sleep(ctx context.Context, d time.Duration) error
}

// RealClock is the wall clock.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// Sleep waits for d or ctx.
func (RealClock) Sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Pacer decides when each tweet is due so that a replay keeps the gaps
// between the tweets' own timestamps divided by Speed, and never exceeds
// MaxRate tweets per second.
//
// A timestamp earlier than the latest one seen (out-of-order data) never
// stalls or crashes the replay: its gap counts as 0, and the gap of the next
// tweet is measured from the latest timestamp, not from the early one.
type Pacer struct {
	speed   float64
	maxRate float64
	clock   Clock

	started   bool
	wallStart time.Time
	latest    time.Time     // latest event time seen
	virtual   time.Duration // sum of the non-negative gaps
	lastDue   time.Time
}

// NewPacer returns a pacer. speed 0 and maxRate 0 mean no waiting at all.
func NewPacer(speed, maxRate float64, clock Clock) *Pacer {
	if clock == nil {
		clock = RealClock{}
	}
	return &Pacer{speed: max(speed, 0), maxRate: max(maxRate, 0), clock: clock}
}

// Enabled reports whether the pacer ever waits.
func (p *Pacer) Enabled() bool { return p.speed > 0 || p.maxRate > 0 }

// Due returns the wall time at which a tweet with event time t is due.
func (p *Pacer) Due(t time.Time) time.Time {
	if !p.started {
		p.started = true
		p.wallStart = p.clock.Now()
		p.latest = t
		p.lastDue = p.wallStart
		return p.wallStart
	}
	if gap := t.Sub(p.latest); gap > 0 {
		p.virtual += gap
		p.latest = t
	}
	due := p.wallStart
	if p.speed > 0 {
		due = p.wallStart.Add(time.Duration(float64(p.virtual) / p.speed))
	}
	if p.maxRate > 0 {
		if next := p.lastDue.Add(time.Duration(float64(time.Second) / p.maxRate)); next.After(due) {
			due = next
		}
	}
	p.lastDue = due
	return due
}
