package source

import (
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
	need []int     // files whose next row must be read
	rows []csv.Row // each file's next row, when it is in h
	h    []int     // a min-heap of files by their next row
}

func newMerge(srcs []Reader) *merge {
	m := &merge{srcs: srcs, rows: make([]csv.Row, len(srcs)), h: make([]int, 0, len(srcs))}
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
			m.rows[i] = row
			m.push(i)
		}
	}
	if len(m.h) == 0 {
		return csv.Row{}, io.EOF
	}
	i := m.pop()
	row := m.rows[i]
	m.rows[i] = csv.Row{}
	m.need = append(m.need, i)
	return row, nil
}

// A typed heap rather than container/heap, whose interface{} Push and Pop
// cost an allocation a row.

func (m *merge) less(a, b int) bool {
	if c := m.rows[a].Tweet.CreatedAt.Compare(m.rows[b].Tweet.CreatedAt); c != 0 {
		return c < 0
	}
	return a < b
}

func (m *merge) push(f int) {
	m.h = append(m.h, f)
	for j := len(m.h) - 1; j > 0; {
		p := (j - 1) / 2
		if !m.less(m.h[j], m.h[p]) {
			break
		}
		m.h[j], m.h[p] = m.h[p], m.h[j]
		j = p
	}
}

func (m *merge) pop() int {
	top := m.h[0]
	last := len(m.h) - 1
	m.h[0] = m.h[last]
	m.h = m.h[:last]
	for j := 0; ; {
		l, r, min := 2*j+1, 2*j+2, j
		if l < len(m.h) && m.less(m.h[l], m.h[min]) {
			min = l
		}
		if r < len(m.h) && m.less(m.h[r], m.h[min]) {
			min = r
		}
		if min == j {
			return top
		}
		m.h[j], m.h[min] = m.h[min], m.h[j]
		j = min
	}
}
