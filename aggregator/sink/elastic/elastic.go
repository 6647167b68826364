// Package elastic is the Elasticsearch sink driver: it merges each record
// into the document of its tweet id with bulk partial updates (update +
// doc_as_upsert) through go-elasticsearch's esutil.BulkIndexer.
//
// Why an index and not a data stream: a data stream is append-only (only
// create; updates need the backing index and a known id), and the join
// merges several partial writes into one document per tweet, so tweetflow
// writes a plain index whose document id is the tweet id. See
// docs/ELASTICSEARCH.md.
//
// Retries happen at two levels. The transport retries a whole bulk request
// that failed with 429, 502, 503, 504 or on the network (RetryOnStatus,
// RetryBackoff). The bulk indexer does not retry items, so WriteBatch
// retries the items that failed with 429, 5xx, a version conflict or a lost
// request, with capped exponential backoff, until they succeed, the retry
// budget is spent, or the context ends; what is still unwritten is then
// reported as Transient (the aggregator keeps those inputs unacknowledged,
// so on Knative the event is redelivered later). Items that can never
// succeed (a mapping rejection, any other 4xx) go to the dead-letter output
// and never hold up the others.
//
// Memory is bounded: the encoded bytes of all WriteBatch calls in flight
// share one budget (MaxBufferedBytes); past it, WriteBatch waits, which
// pushes back on the caller during an outage.
package elastic

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/elastic/go-elasticsearch/v8"
	"github.com/elastic/go-elasticsearch/v8/esapi"
	"github.com/elastic/go-elasticsearch/v8/esutil"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/model"
)

// Clock is the time source for item retries; tests pass a controllable one
// (esfake.Clock).
type Clock interface {
	Now() time.Time
	Sleep(ctx context.Context, d time.Duration) error
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Options configures a Driver. Config and Models are required.
type Options struct {
	Config Config
	// Models are the configured models: the mapping's model fields and what
	// complete/missing refer to.
	Models []Model
	// DeadLetter receives records that can never be written. Nil: they are
	// only reported (Permanent) in the BatchError.
	DeadLetter DeadLetter
	Logger     *slog.Logger
	// Clock times item retries; nil is the real clock.
	Clock Clock
	// Retry configures the transport's whole-request retries.
	Retry RetryPolicy
	// Workers is the number of concurrent bulk requests (default 2).
	Workers int
	// FlushBytes is the size of one bulk request (default 4 MiB).
	FlushBytes int
	// MaxBufferedBytes bounds the encoded bytes of all WriteBatch calls in
	// flight (default 64 MiB).
	MaxBufferedBytes int64
	// ItemBackoffMin/Max bound the wait between item retry rounds (default
	// 200 ms and 5 s); ItemRetryFor is how long one WriteBatch keeps
	// retrying before it reports Transient errors (default 2 minutes).
	ItemBackoffMin, ItemBackoffMax, ItemRetryFor time.Duration
	// Refresh is the bulk refresh parameter ("", "true", "wait_for"); empty
	// leaves visibility to the index's refresh interval.
	Refresh string
	// SkipEnsureIndex skips creating the template, index and mapping at
	// Open (for a user without index management rights).
	SkipEnsureIndex bool
	// Client is a prebuilt client; nil builds one from Config.
	Client *elasticsearch.Client
}

// Driver is the Elasticsearch sink.Driver.
type Driver struct {
	es      *elasticsearch.Client
	index   string
	models  map[string]Model
	names   []string
	opts    Options
	log     *slog.Logger
	clock   Clock
	bi      esutil.BulkIndexer
	budget  *budget
	closeMu sync.RWMutex
	closed  bool
}

var _ sink.Driver = (*Driver)(nil)

// Open connects, checks that the server is Elasticsearch (the client's
// product check), creates or updates the index template, the index and its
// mapping (never deleting anything), and starts the bulk indexer.
func Open(ctx context.Context, o Options) (*Driver, error) {
	if err := o.Config.Normalize(); err != nil {
		return nil, err
	}
	if err := CheckModels(o.Models); err != nil {
		return nil, fmt.Errorf("elasticsearch: %w", err)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Clock == nil {
		o.Clock = realClock{}
	}
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.FlushBytes <= 0 {
		o.FlushBytes = 4 << 20
	}
	if o.MaxBufferedBytes <= 0 {
		o.MaxBufferedBytes = 64 << 20
	}
	if o.ItemBackoffMin <= 0 {
		o.ItemBackoffMin = 200 * time.Millisecond
	}
	if o.ItemBackoffMax <= 0 {
		o.ItemBackoffMax = 5 * time.Second
	}
	if o.ItemRetryFor <= 0 {
		o.ItemRetryFor = 2 * time.Minute
	}
	log := o.Logger.With("sink", "elasticsearch", "index", o.Config.Index)
	if o.Config.InsecureSkipVerify {
		log.Warn("TLS certificate verification is off (--es-insecure)")
	}
	es := o.Client
	if es == nil {
		var err error
		if es, err = NewClient(o.Config, o.Retry); err != nil {
			return nil, fmt.Errorf("elasticsearch client: %w", err)
		}
	}
	if err := ping(ctx, es); err != nil {
		return nil, err
	}
	if !o.SkipEnsureIndex {
		if err := EnsureIndex(ctx, es, o.Config.Index, o.Models); err != nil {
			return nil, err
		}
	}
	d := &Driver{
		es: es, index: o.Config.Index, opts: o, log: log, clock: o.Clock,
		models: map[string]Model{}, budget: newBudget(o.MaxBufferedBytes),
	}
	for _, m := range o.Models {
		d.models[m.Name] = m
		d.names = append(d.names, m.Name)
	}
	bi, err := esutil.NewBulkIndexer(esutil.BulkIndexerConfig{
		Client:     es,
		Index:      d.index,
		NumWorkers: o.Workers,
		FlushBytes: o.FlushBytes,
		// WriteBatch flushes explicitly; the interval only bounds how long
		// an item could wait if a flush were missed.
		FlushInterval: time.Second,
		Refresh:       o.Refresh,
		// Only what WriteBatch reads back, to keep responses small.
		FilterPath: []string{"errors", "items.*.status", "items.*.error.type", "items.*.error.reason", "items.*._id"},
		OnError: func(_ context.Context, err error) {
			log.Warn("bulk request failed", "err", err)
		},
	})
	if err != nil {
		return nil, fmt.Errorf("elasticsearch bulk indexer: %w", err)
	}
	d.bi = bi
	log.Info("elasticsearch sink open", "addresses", o.Config.Addresses, "models", d.names)
	return d, nil
}

// ping calls GET /, which also runs the client's product check.
func ping(ctx context.Context, es *elasticsearch.Client) error {
	res, err := es.Info(es.Info.WithContext(ctx))
	if err != nil {
		return &sink.Error{Code: sink.Transient, Err: fmt.Errorf("elasticsearch: connect: %w", err)}
	}
	defer drain(res.Body)
	if res.IsError() {
		return &sink.Error{Code: codeOf(res.StatusCode), Err: fmt.Errorf("elasticsearch: GET /: %s", responseError(res))}
	}
	return nil
}

// EnsureIndex puts the index template, creates the index if it does not
// exist, and puts the mapping on it (adding fields of new models and the
// runtime fields' model list). It never deletes or reindexes.
func EnsureIndex(ctx context.Context, es *elasticsearch.Client, index string, models []Model) error {
	tpl, err := IndexTemplate(index, models)
	if err != nil {
		return fmt.Errorf("elasticsearch: %w", err)
	}
	if err := do(ctx, es, http.MethodPut, "/_index_template/"+index, tpl, nil); err != nil {
		return fmt.Errorf("elasticsearch: put index template %s: %w", index, err)
	}
	err = do(ctx, es, http.MethodPut, "/"+index, map[string]any{}, nil)
	var re *ResponseError
	if err != nil && !(errors.As(err, &re) && re.Type == "resource_already_exists_exception") {
		return fmt.Errorf("elasticsearch: create index %s: %w", index, err)
	}
	m, err := Mappings(models)
	if err != nil {
		return fmt.Errorf("elasticsearch: %w", err)
	}
	if err := do(ctx, es, http.MethodPut, "/"+index+"/_mapping", m, nil); err != nil {
		return fmt.Errorf("elasticsearch: put mapping on %s (a field of the live index has another type; see docs/ELASTICSEARCH.md): %w", index, err)
	}
	return nil
}

// DeleteIndex deletes the index (tweetflow es reset). A missing index is
// not an error.
func DeleteIndex(ctx context.Context, es *elasticsearch.Client, index string) error {
	if err := ValidateIndexName(index); err != nil {
		return err
	}
	err := do(ctx, es, http.MethodDelete, "/"+index, nil, nil)
	var re *ResponseError
	if err != nil && !(errors.As(err, &re) && re.Status == 404) {
		return fmt.Errorf("elasticsearch: delete index %s: %w", index, err)
	}
	return nil
}

// ResponseError is an Elasticsearch error response.
type ResponseError struct {
	Status int
	Type   string
	Reason string
}

func (e *ResponseError) Error() string {
	if e.Type == "" {
		return fmt.Sprintf("status %d", e.Status)
	}
	return fmt.Sprintf("status %d: %s: %s", e.Status, e.Type, e.Reason)
}

func responseError(res *esapi.Response) *ResponseError {
	re := &ResponseError{Status: res.StatusCode}
	var env struct {
		Error struct {
			Type   string `json:"type"`
			Reason string `json:"reason"`
		} `json:"error"`
	}
	b, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if json.Unmarshal(b, &env) == nil {
		re.Type, re.Reason = env.Error.Type, env.Error.Reason
	}
	return re
}

// do performs one JSON request through the client's transport (so retries,
// auth and the product check apply) and decodes the answer into out.
func do(ctx context.Context, es *elasticsearch.Client, method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, path, rd)
	if err != nil {
		return err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := es.Perform(req)
	if err != nil {
		return &sink.Error{Code: sink.Transient, Err: err}
	}
	defer drain(res.Body)
	if res.StatusCode >= 300 {
		re := responseError(&esapi.Response{StatusCode: res.StatusCode, Body: res.Body})
		return &sink.Error{Code: codeOf(res.StatusCode), Err: re}
	}
	if out != nil {
		if err := json.NewDecoder(res.Body).Decode(out); err != nil {
			return fmt.Errorf("decode %s %s response: %w", method, path, err)
		}
	}
	return nil
}

func drain(rc io.ReadCloser) {
	_, _ = io.Copy(io.Discard, rc)
	_ = rc.Close()
}

// codeOf classifies an HTTP status: 429, 5xx, 409 (a version conflict left
// after retry_on_conflict) and 404 (the index was deleted and cannot be
// auto-created) may succeed later; other 4xx never will.
func codeOf(status int) sink.Code {
	switch {
	case status == 0, status == 429, status == 409, status == 404, status >= 500:
		return sink.Transient
	case status >= 400:
		return sink.Permanent
	}
	return sink.Unknown
}

// ItemError is the failure of one record's bulk item.
type ItemError struct {
	TweetID string
	Index   string
	// Status is the item's HTTP status (0 when the request itself failed).
	Status int
	Type   string
	Reason string
	// DeadLettered is set when the record was written to the dead-letter
	// output, so the caller may acknowledge it.
	DeadLettered bool
}

func (e *ItemError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tweet %s: index %s: ", e.TweetID, e.Index)
	if e.Status != 0 {
		fmt.Fprintf(&b, "status %d: ", e.Status)
	}
	if e.Type != "" {
		b.WriteString(e.Type + ": ")
	}
	b.WriteString(e.Reason)
	if e.DeadLettered {
		b.WriteString(" (dead-lettered)")
	}
	return b.String()
}

// ErrDeadLettered matches (errors.Is) an item error whose record is safely
// in the dead-letter output.
var ErrDeadLettered = errors.New("dead-lettered")

func (e *ItemError) Is(target error) bool { return target == ErrDeadLettered && e.DeadLettered }

// group is the records of one tweet id in a batch, merged into one update:
// two bulk items for the same document could go out in two concurrent
// requests, and then their order would be undefined.
type group struct {
	id      string
	indices []int
	body    []byte
	err     error // permanent encoding error
	tweet   sink.Record
}

// WriteBatch implements sink.Driver.
func (d *Driver) WriteBatch(ctx context.Context, recs []sink.Record) error {
	if len(recs) == 0 {
		return nil
	}
	if err := ctx.Err(); err != nil {
		return &sink.Error{Code: sink.Transient, Err: err}
	}
	d.closeMu.RLock()
	defer d.closeMu.RUnlock()
	if d.closed {
		return &sink.Error{Code: sink.Permanent, Err: errors.New("elasticsearch sink: closed")}
	}

	groups := d.groupRecords(recs)
	failed := map[int]error{}
	var permanent []*group
	var pending []*group
	var size int64
	for _, g := range groups {
		if g.err != nil {
			permanent = append(permanent, g)
			continue
		}
		pending = append(pending, g)
		size += int64(len(g.body)) + 128
	}
	if err := d.budget.acquire(ctx, size); err != nil {
		return &sink.Error{Code: sink.Transient, Err: fmt.Errorf("elasticsearch sink: waiting for buffer space: %w", err)}
	}
	defer d.budget.release(size)

	deadline := d.clock.Now().Add(d.opts.ItemRetryFor)
	itemErrs := map[*group]*ItemError{}
	for attempt := 0; len(pending) > 0; attempt++ {
		outcomes := d.send(ctx, pending)
		var retry []*group
		for i, g := range pending {
			ie := outcomes[i]
			switch {
			case ie == nil:
				delete(itemErrs, g)
			case codeOf(ie.Status) == sink.Permanent:
				itemErrs[g] = ie
				g.err = ie
				permanent = append(permanent, g)
			default:
				itemErrs[g] = ie
				retry = append(retry, g)
			}
		}
		pending = retry
		if len(pending) == 0 {
			break
		}
		wait := min(d.opts.ItemBackoffMin<<min(attempt, 16), d.opts.ItemBackoffMax)
		if ctx.Err() != nil || d.clock.Now().Add(wait).After(deadline) {
			break
		}
		d.log.Debug("retrying failed bulk items", "items", len(pending), "attempt", attempt+1, "wait", wait, "first", itemErrs[pending[0]])
		if err := d.clock.Sleep(ctx, wait); err != nil {
			break
		}
	}
	for _, g := range pending {
		err := error(itemErrs[g])
		if ctx.Err() != nil {
			err = fmt.Errorf("%w (gave up: %w)", err, ctx.Err())
		}
		for _, i := range g.indices {
			failed[i] = &sink.Error{Code: sink.Transient, Err: err}
		}
	}
	if len(permanent) > 0 {
		d.deadLetter(ctx, permanent, recs, failed)
	}
	if len(failed) > 0 {
		return &sink.BatchError{Failed: failed}
	}
	return nil
}

// deadLetter writes the permanently failed records to the dead-letter
// output and fills failed. If the dead-letter write fails, the records are
// reported Transient, so that they are retried rather than lost.
func (d *Driver) deadLetter(ctx context.Context, gs []*group, recs []sink.Record, failed map[int]error) {
	var letters []Letter
	now := time.Now().UTC()
	for _, g := range gs {
		ie, ok := g.err.(*ItemError)
		if !ok {
			ie = &ItemError{TweetID: g.id, Index: d.index, Type: "encode", Reason: g.err.Error()}
			g.err = ie
		}
		for _, i := range g.indices {
			letters = append(letters, Letter{Time: now, Index: d.index, TweetID: g.id, Status: ie.Status, ErrorType: ie.Type, Reason: ie.Reason, Record: recs[i]})
		}
	}
	var dlErr error
	if d.opts.DeadLetter != nil {
		dlErr = d.opts.DeadLetter.Put(ctx, letters)
		if dlErr != nil {
			d.log.Error("dead-letter write failed", "records", len(letters), "err", dlErr)
		}
	}
	for _, g := range gs {
		ie := g.err.(*ItemError)
		d.log.Warn("record rejected by elasticsearch", "tweet_id", g.id, "status", ie.Status, "type", ie.Type, "reason", ie.Reason, "dead_lettered", d.opts.DeadLetter != nil && dlErr == nil)
		for _, i := range g.indices {
			switch {
			case d.opts.DeadLetter != nil && dlErr == nil:
				cp := *ie
				cp.DeadLettered = true
				failed[i] = &sink.Error{Code: sink.Permanent, Err: &cp}
			case dlErr != nil:
				failed[i] = &sink.Error{Code: sink.Transient, Err: fmt.Errorf("%w; and the dead-letter write failed: %w", ie, dlErr)}
			default:
				failed[i] = &sink.Error{Code: sink.Permanent, Err: ie}
			}
		}
	}
}

// send adds the groups' items to the bulk indexer, flushes, and returns
// each group's outcome (nil on success).
func (d *Driver) send(ctx context.Context, gs []*group) []*ItemError {
	out := make([]*ItemError, len(gs))
	done := make([]bool, len(gs))
	var mu sync.Mutex
	retryOnConflict := 5
	added := 0
	for i, g := range gs {
		i := i
		err := d.bi.Add(ctx, esutil.BulkIndexerItem{
			Action:          "update",
			DocumentID:      g.id,
			Body:            bytes.NewReader(g.body),
			RetryOnConflict: &retryOnConflict,
			OnSuccess: func(context.Context, esutil.BulkIndexerItem, esutil.BulkIndexerResponseItem) {
				mu.Lock()
				done[i] = true
				mu.Unlock()
			},
			OnFailure: func(_ context.Context, _ esutil.BulkIndexerItem, res esutil.BulkIndexerResponseItem, err error) {
				ie := &ItemError{TweetID: g.id, Index: d.index, Status: res.Status, Type: res.Error.Type, Reason: res.Error.Reason}
				if err != nil {
					// The whole request failed after the transport's
					// retries: no item status.
					ie.Status, ie.Type, ie.Reason = 0, "request", err.Error()
				}
				mu.Lock()
				out[i], done[i] = ie, true
				mu.Unlock()
			},
		})
		if err != nil {
			out[i] = &ItemError{TweetID: g.id, Index: d.index, Type: "add", Reason: err.Error()}
			done[i] = true
			continue
		}
		added++
	}
	var flushErr error
	if added > 0 {
		flushErr = d.bi.Flush(ctx)
	}
	mu.Lock()
	defer mu.Unlock()
	for i, g := range gs {
		if !done[i] {
			reason := "no result for the item"
			if flushErr != nil {
				reason = "flush: " + flushErr.Error()
			}
			out[i] = &ItemError{TweetID: g.id, Index: d.index, Type: "request", Reason: reason}
			// A late callback must not write into a slice we return.
			done[i] = true
		}
	}
	return slices.Clone(out)
}

// groupRecords merges the records of each tweet id (in batch order, so
// later results win) and encodes one update body per tweet.
func (d *Driver) groupRecords(recs []sink.Record) []*group {
	byID := map[string]*group{}
	var order []*group
	merged := map[*group]*sink.Record{}
	for i, rec := range recs {
		g := byID[rec.Tweet.ID]
		if g == nil {
			g = &group{id: rec.Tweet.ID}
			byID[rec.Tweet.ID] = g
			order = append(order, g)
			r := rec
			r.Results = slices.Clone(rec.Results)
			merged[g] = &r
		} else {
			m := merged[g]
			m.Tweet = rec.Tweet
			m.TimedOut = m.TimedOut || rec.TimedOut
			for _, res := range rec.Results {
				if j := slices.IndexFunc(m.Results, func(x sink.Result) bool { return x.Model == res.Model }); j >= 0 {
					m.Results[j] = res
				} else {
					m.Results = append(m.Results, res)
				}
			}
		}
		g.indices = append(g.indices, i)
	}
	for _, g := range order {
		g.body, g.err = d.encode(*merged[g])
	}
	return order
}

// encode writes the update body: {"doc":{...},"doc_as_upsert":true}.
func (d *Driver) encode(rec sink.Record) ([]byte, error) {
	t := rec.Tweet
	if strings.TrimSpace(t.ID) == "" {
		return nil, errors.New("record without a tweet id")
	}
	if t.CreatedAt.IsZero() {
		return nil, fmt.Errorf("tweet %s: missing timestamp", t.ID)
	}
	var b bytes.Buffer
	b.Grow(256 + len(t.Text))
	b.WriteString(`{"doc":{"tweet_id":`)
	writeString(&b, t.ID)
	b.WriteString(`,"timestamp":"`)
	b.WriteString(t.CreatedAt.UTC().Format(time.RFC3339Nano))
	b.WriteString(`","user":`)
	writeString(&b, t.User)
	b.WriteString(`,"text":`)
	writeString(&b, t.Text)
	if len(t.Fields) > 0 {
		b.WriteString(`,"fields":{`)
		for i, k := range slices.Sorted(mapsKeys(t.Fields)) {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(&b, k)
			b.WriteByte(':')
			writeString(&b, t.Fields[k])
		}
		b.WriteByte('}')
	}
	if rec.TimedOut {
		b.WriteString(`,"timed_out":true`)
	}
	for _, r := range rec.Results {
		if strings.ContainsAny(r.Model, `."\`) || r.Model == "" {
			return nil, fmt.Errorf("tweet %s: invalid model name %q", t.ID, r.Model)
		}
		if reserved[r.Model] {
			return nil, fmt.Errorf("tweet %s: model name %q is a document field", t.ID, r.Model)
		}
		b.WriteByte(',')
		writeString(&b, r.Model)
		b.WriteString(`:{"value":`)
		vt := model.TypeFloat
		if m, ok := d.models[r.Model]; ok {
			vt = m.ValueType
		}
		switch vt {
		case model.TypeKeyword:
			// A keyword-valued model stores its label as the value.
			writeString(&b, r.Label)
		case model.TypeInteger:
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) || r.Value != math.Trunc(r.Value) || math.Abs(r.Value) > 1<<53 {
				return nil, fmt.Errorf("tweet %s: model %s: value %v is not an integer", t.ID, r.Model, r.Value)
			}
			b.WriteString(strconv.FormatInt(int64(r.Value), 10))
		default:
			if math.IsNaN(r.Value) || math.IsInf(r.Value, 0) {
				return nil, fmt.Errorf("tweet %s: model %s: value %v is not a finite number", t.ID, r.Model, r.Value)
			}
			b.Write(strconv.AppendFloat(nil, r.Value, 'g', -1, 64))
		}
		b.WriteString(`,"label":`)
		writeString(&b, r.Label)
		b.WriteString(`,"version":`)
		writeString(&b, r.Version)
		b.WriteByte('}')
	}
	b.WriteString(`},"doc_as_upsert":true}`)
	return b.Bytes(), nil
}

func mapsKeys(m map[string]string) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// writeString writes s as a JSON string (RFC 8259 §7): quote, backslash
// and control characters escaped; invalid UTF-8 becomes U+FFFD, as
// encoding/json does. It is the bulk path's hottest function, hence not
// json.Marshal (reflection and an allocation per string).
func writeString(b *bytes.Buffer, s string) {
	const hex = "0123456789abcdef"
	b.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b.WriteString(s[start:i])
			switch c {
			case '"', '\\':
				b.WriteByte('\\')
				b.WriteByte(c)
			case '\n':
				b.WriteString(`\n`)
			case '\r':
				b.WriteString(`\r`)
			case '\t':
				b.WriteString(`\t`)
			default:
				b.WriteString(`\u00`)
				b.WriteByte(hex[c>>4])
				b.WriteByte(hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteString(s[start:i])
			b.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		i += size
	}
	b.WriteString(s[start:])
	b.WriteByte('"')
}

// Close flushes and stops the bulk indexer. It does not close the client's
// connections that other users may share.
func (d *Driver) Close(ctx context.Context) error {
	d.closeMu.Lock()
	defer d.closeMu.Unlock()
	if d.closed {
		return nil
	}
	d.closed = true
	if err := d.bi.Close(ctx); err != nil {
		return fmt.Errorf("elasticsearch sink: close: %w", err)
	}
	return nil
}

// Client returns the driver's client (for the CLI's admin commands).
func (d *Driver) Client() *elasticsearch.Client { return d.es }

// Index returns the index name.
func (d *Driver) Index() string { return d.index }
