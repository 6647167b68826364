package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/tweetflow/tweetflow/aggregator/sink"
)

// emitting is a store driver that hands every record it stored to emit
// before the write returns: the record events of a separate alert engine
// (mode/alerting.RecordEvents). The write counts as done only once both
// the store and emit took the record, so an input is acked only after its
// record event is out: when emit fails, the stored records are reported as
// transiently failed, and the sink.Writer writes them again (a merge per
// tweet id, harmless) and emits them again within its budget, or the
// transport redelivers their inputs. Record events are therefore at least
// once, like every event here.
type emitting struct {
	sink.Driver
	emit func(ctx context.Context, recs []sink.Record) error
}

func (e emitting) WriteBatch(ctx context.Context, recs []sink.Record) error {
	err := e.Driver.WriteBatch(ctx, recs)
	var be *sink.BatchError
	stored := recs
	var idx []int // indexes of stored in recs, when some failed
	switch {
	case err == nil:
	case errors.As(err, &be):
		stored = make([]sink.Record, 0, len(recs))
		for i := range recs {
			if be.Failed[i] == nil {
				stored = append(stored, recs[i])
				idx = append(idx, i)
			}
		}
	default:
		return err
	}
	if len(stored) == 0 {
		return err
	}
	eerr := e.emit(ctx, stored)
	if eerr == nil {
		return err
	}
	failed := map[int]error{}
	if be != nil {
		for i, ferr := range be.Failed {
			failed[i] = ferr
		}
	}
	emitErr := &sink.Error{Code: sink.Transient, Err: fmt.Errorf("stored, but the record event was not sent: %w", eerr)}
	if idx == nil {
		for i := range recs {
			failed[i] = emitErr
		}
	} else {
		for _, i := range idx {
			failed[i] = emitErr
		}
	}
	return &sink.BatchError{Failed: failed}
}
