package core

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/mem"
	"github.com/tweetflow/tweetflow/event"
)

func emitRecords(ids ...string) []sink.Record {
	var recs []sink.Record
	for _, id := range ids {
		recs = append(recs, sink.Record{Tweet: event.Tweet{ID: id, Text: "t", CreatedAt: time.Unix(1, 0)},
			Results: []sink.Result{{Model: "m", Value: 1, Label: "x"}}})
	}
	return recs
}

// A write counts as done only once the store took the records and emit
// took the stored ones: a refused record is not emitted, and a failed emit
// fails the stored records transiently, so the Writer writes and emits
// them again.
func TestEmittingDriver(t *testing.T) {
	st := mem.NewStore()
	st.Refuse("bad")
	var emitted [][]string
	fails := 1
	d := emitting{Driver: st.Open([]string{"m"}), emit: func(_ context.Context, recs []sink.Record) error {
		var ids []string
		for _, r := range recs {
			ids = append(ids, r.Tweet.ID)
		}
		emitted = append(emitted, ids)
		if fails > 0 {
			fails--
			return errors.New("broker down")
		}
		return nil
	}}
	w, err := sink.NewWriter(d, sink.Options{Models: []string{"m"}, BackoffMin: time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	err = w.Write(context.Background(), emitRecords("a", "bad", "b"))
	var be *sink.BatchError
	if !errors.As(err, &be) || len(be.Failed) != 1 || be.Failed[1] == nil || sink.ErrorCode(be.Failed[1]) != sink.Permanent {
		t.Fatalf("write: %v, want only the refused record failed, for good", err)
	}
	want := [][]string{{"a", "b"}, {"a", "b"}} // the first emit failed: written and emitted again
	if !slices.EqualFunc(emitted, want, slices.Equal[[]string]) {
		t.Fatalf("emitted %v, want %v", emitted, want)
	}
	if _, ok := st.Get("a"); !ok {
		t.Fatal("a not stored")
	}
	// An emit that keeps failing leaves the stored records failed
	// (transient: the transport redelivers them).
	fails = 1 << 30
	w2, _ := sink.NewWriter(d, sink.Options{Models: []string{"m"}, WriteBudget: 20 * time.Millisecond, BackoffMin: time.Millisecond})
	err = w2.Write(context.Background(), emitRecords("c"))
	if !errors.As(err, &be) || sink.ErrorCode(be.Failed[0]) != sink.Transient {
		t.Fatalf("write with emit down: %v, want a transient failure", err)
	}
}
