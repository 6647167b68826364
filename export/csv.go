package export

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
)

// csvEncoder writes the CSV format (see CSV): encoding/csv quotes as RFC
// 4180 says.
type csvEncoder struct {
	w      *csv.Writer
	models []string
	row    []string
}

func newCSVEncoder(w io.Writer, models []string) *csvEncoder {
	return &csvEncoder{w: csv.NewWriter(w), models: models, row: make([]string, len(fieldColumns)+2*len(models))}
}

func (e *csvEncoder) begin() error {
	h := append([]string(nil), fieldColumns[:]...)
	for _, m := range e.models {
		h = append(h, m+"_value", m+"_label")
	}
	return e.w.Write(h)
}

func (e *csvEncoder) tweet(t sqlite.Tweet) error {
	opt, ls := optionalFields(&t), lists(&t)
	r := e.row
	r[0], r[1], r[2], r[3], r[4] = t.ID, opt[0], t.User, t.CreatedAt.UTC().Format(time.RFC3339Nano), t.Text
	copy(r[5:10], opt[1:])
	for i, l := range ls {
		r[10+i] = strings.Join(l, " ")
	}
	for i, m := range e.models {
		v, l := "", ""
		if res, ok := t.Results[m]; ok {
			v, l = strconv.FormatFloat(res.Value, 'g', -1, 64), res.Label
		}
		r[len(fieldColumns)+2*i], r[len(fieldColumns)+2*i+1] = v, l
	}
	return e.w.Write(r)
}

func (e *csvEncoder) end() error {
	e.w.Flush()
	return e.w.Error()
}
