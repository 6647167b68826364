package source

import (
	"container/heap"
	"context"
	"errors"
	"io"

	"github.com/tweetflow/tweetflow/producer/source/csv"
)

// merge replays several files in event-time order of their own rows: it
// holds each file's next row and returns the earliest (ties: the file
// listed first), so each file's order is kept and nothing is sorted
// globally; memory is one row a file. A file that is not in time order
// comes out in its own order, interleaved as well as its rows allow.
// Row errors are returned as soon as a file yields them.
type merge struct {
	srcs []Reader
	need []int // files whose next row must be read
	h    heads
}

type head struct {
	row  csv.Row
	file int
}

type heads []head

func (h heads) Len() int { return len(h) }
func (h heads) Less(i, j int) bool {
	if c := h[i].row.Tweet.CreatedAt.Compare(h[j].row.Tweet.CreatedAt); c != 0 {
		return c < 0
	}
	return h[i].file < h[j].file
}
func (h heads) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *heads) Push(x any)   { *h = append(*h, x.(head)) }
func (h *heads) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

func newMerge(srcs []Reader) *merge {
	m := &merge{srcs: srcs, h: make(heads, 0, len(srcs))}
	for i := len(srcs) - 1; i >= 0; i-- {
		m.need = append(m.need, i)
	}
	return m
}

func (m *merge) Read(ctx context.Context) (csv.Row, error) {
	for len(m.need) > 0 {
		i := m.need[len(m.need)-1]
		row, err := m.srcs[i].Read(ctx)
		switch {
		case errors.Is(err, io.EOF):
			m.need = m.need[:len(m.need)-1]
		case err != nil:
			// A row error: the file still needs its next row. Any other
			// error ends the replay.
			return csv.Row{}, err
		default:
			m.need = m.need[:len(m.need)-1]
			heap.Push(&m.h, head{row, i})
		}
	}
	if len(m.h) == 0 {
		return csv.Row{}, io.EOF
	}
	next := heap.Pop(&m.h).(head)
	m.need = append(m.need, next.file)
	return next.row, nil
}
