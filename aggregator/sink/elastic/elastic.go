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
// The driver does not retry: WriteBatch sends each record once and reports
// each failed item by index, Transient (429, 5xx, a version conflict left
// after retry_on_conflict, a lost request) or Permanent (a mapping
// rejection, an operator's write block, any other 4xx). sink.Writer is the
// one retry loop, bounded below the delivery timeout, and the one place that
// dead-letters; the client's own whole-request retries are off for the sink
// (Options.Retry), so retries never stack: before, the transport's 3, the
// driver's item retries for up to 2 minutes and the aggregator's 10 ran
// under a 30 s Trigger timeout, and Knative redelivered while the first
// write was still retrying.
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
	"regexp"
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

// Options configures a Driver. Config and Models are required.
type Options struct {
	Config Config
	// Models are the configured models: the mapping's model fields and what
	// complete/missing refer to.
	Models []Model
	Logger *slog.Logger
	// Retry configures the client's whole-request retries when the driver
	// builds its client. The zero value turns them off: sink.Writer
	// retries, within its write budget.
	Retry RetryPolicy
	// Workers is the number of concurrent bulk requests (default 2).
	Workers int
	// FlushBytes is the size of one bulk request (default 4 MiB).
	FlushBytes int
	// MaxBufferedBytes bounds the encoded bytes of all WriteBatch calls in
	// flight (default 64 MiB).
	MaxBufferedBytes int64
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
	if o.Workers <= 0 {
		o.Workers = 2
	}
	if o.FlushBytes <= 0 {
		o.FlushBytes = 4 << 20
	}
	if o.MaxBufferedBytes <= 0 {
		o.MaxBufferedBytes = 64 << 20
	}
	log := o.Logger.With("sink", "elasticsearch", "index", o.Config.Index)
	if o.Config.InsecureSkipVerify {
		log.Warn("TLS certificate verification is off (--es-insecure)")
	}
	es := o.Client
	if es == nil {
		rp := o.Retry
		if rp.RequestRetries == 0 {
			rp.RequestRetries = -1 // off: sink.Writer is the one retry loop
		}
		var err error
		if es, err = NewClient(o.Config, rp); err != nil {
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
		es: es, index: o.Config.Index, opts: o, log: log,
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

// Do performs one JSON request through the client's transport (so retries,
// auth and the product check apply) and decodes a 2xx answer into out; any
// other status is a *sink.Error (Transient or Permanent, as for writes)
// wrapping a *ResponseError. Readers of the index (export) use it.
func Do(ctx context.Context, es *elasticsearch.Client, method, path string, body, out any) error {
	return do(ctx, es, method, path, body, out)
}

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

// classify is codeOf with Elasticsearch's error types, for the answers whose
// status alone misleads. Each of these is operational: the cluster or its
// operator is in a state that an operator (or Elasticsearch itself) ends,
// and the record itself is fine, so it is Transient (retried within the
// write budget, then left to the delivery's own retries), never a dead
// letter, as issue #14 asks:
//   - any 403: a cluster_block_exception (the flood-stage disk block, lifted
//     when disk is freed; an operator's write or read-only block; the
//     closed-index block) or a security_exception (the user lacks a
//     privilege until the role is fixed). Dead-lettering these would turn
//     one misconfigured role into a dead-letter file of the whole stream.
//   - index_closed_exception (400): the index takes writes again when it is
//     opened.
//
// No master or a state not recovered answer 503: Transient by status.
func classify(status int, typ, reason string) sink.Code {
	switch {
	case status == 403:
		return sink.Transient
	case typ == "index_closed_exception":
		return sink.Transient
	}
	return codeOf(status)
}

// wholeRequestStatus reads the status of a bulk request that failed as a
// whole from the bulk indexer's error ("flush: [400 Bad Request] ..."):
// esutil passes it to each item as an error, without the status.
var wholeRequestStatus = regexp.MustCompile(`^flush: \[(\d{3}) `)

// requestError reads the type and reason of a whole request's failure from
// what follows the status in the bulk indexer's error ("Bad Request]
// {"error":...}"), with the reason cut to 512 bytes (Elasticsearch echoes a
// long _id in it).
func requestError(rest string) (typ, reason string) {
	typ, reason = "request", rest
	if i := strings.Index(rest, "{"); i >= 0 {
		var env struct {
			Error struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"error"`
		}
		if json.Unmarshal([]byte(rest[i:]), &env) == nil && env.Error.Type != "" {
			typ, reason = env.Error.Type, env.Error.Reason
		}
	}
	if len(reason) > 512 {
		reason = reason[:512] + "…"
	}
	return typ, reason
}

// ItemError is the failure of one record's bulk item.
type ItemError struct {
	TweetID string
	Index   string
	// Status is the item's HTTP status (0 when the request itself failed).
	Status int
	Type   string
	Reason string
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
	return b.String()
}

// group is the records of one tweet id in a batch, merged into one update:
// two bulk items for the same document could go out in two concurrent
// requests, and then their order would be undefined.
type group struct {
	id      string
	indices []int
	body    []byte
	err     error // permanent encoding error
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
	var pending []*group
	var size int64
	for _, g := range groups {
		if g.err != nil {
			for _, i := range g.indices {
				failed[i] = &sink.Error{Code: sink.Permanent, Err: &ItemError{TweetID: g.id, Index: d.index, Type: "encode", Reason: g.err.Error()}}
			}
			continue
		}
		pending = append(pending, g)
		size += int64(len(g.body)) + 128
	}
	if err := d.budget.acquire(ctx, size); err != nil {
		return &sink.Error{Code: sink.Transient, Err: fmt.Errorf("elasticsearch sink: waiting for buffer space: %w", err)}
	}
	defer d.budget.release(size)

	outcomes := d.send(ctx, pending)
	for k, g := range pending {
		ie := outcomes[k]
		if ie == nil {
			continue
		}
		code := classify(ie.Status, ie.Type, ie.Reason)
		var err error = ie
		if ctx.Err() != nil && code != sink.Permanent {
			err = fmt.Errorf("%w (gave up: %w)", ie, ctx.Err())
		}
		for _, i := range g.indices {
			failed[i] = &sink.Error{Code: code, Err: err}
		}
	}
	if len(failed) > 0 {
		return &sink.BatchError{Failed: failed}
	}
	return nil
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
					// The whole request failed: no item status, but the
					// request's own is in the error.
					ie.Status, ie.Type, ie.Reason = 0, "request", err.Error()
					if m := wholeRequestStatus.FindStringSubmatch(err.Error()); m != nil {
						ie.Status, _ = strconv.Atoi(m[1])
						ie.Type, ie.Reason = requestError(err.Error()[len(m[0]):])
					}
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
	// The optional tweet fields are left out when empty: the document stays
	// small, and every record of a tweet carries the same tweet.
	for _, f := range [...]struct{ name, v string }{
		{FieldUserID, t.UserID}, {FieldLang, t.Lang}, {FieldRetweetOf, t.RetweetOf},
		{FieldQuoteOf, t.QuoteOf}, {FieldReplyTo, t.ReplyTo}, {FieldConversationID, t.ConversationID},
	} {
		if f.v != "" {
			b.WriteString(`,"` + f.name + `":`)
			writeString(&b, f.v)
		}
	}
	for _, f := range [...]struct {
		name string
		l    []string
	}{{FieldHashtags, t.Hashtags}, {FieldURLs, t.URLs}, {FieldMentions, t.Mentions}} {
		if len(f.l) == 0 {
			continue
		}
		b.WriteString(`,"` + f.name + `":[`)
		for i, v := range f.l {
			if i > 0 {
				b.WriteByte(',')
			}
			writeString(&b, v)
		}
		b.WriteByte(']')
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
