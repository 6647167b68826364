package cehttp_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/cehttp"
	"github.com/tweetflow/tweetflow/transport/transporttest"
)

func tweetEvent(t testing.TB, id, text string) cloudevents.Event {
	t.Helper()
	e, err := event.NewTweetEvent(event.Tweet{ID: id, User: "u", Text: text, CreatedAt: time.Date(2020, 1, 2, 3, 4, 5, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// echo decodes the tweet and replies with a metadata event, like a function.
func echo(_ context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
	tw, err := event.DecodeTweet(&e)
	if err != nil {
		return nil, err
	}
	r, err := event.NewMetadataEvent(event.Metadata{TweetID: tw.ID, Model: "echo", ModelVersion: "1", Label: "x", Value: float64(len(tw.Text)), Tweet: tw})
	return &r, err
}

func TestHandlerReplyRoundTrip(t *testing.T) {
	obs := &transporttest.Outcomes{}
	srv := httptest.NewServer(cehttp.NewHandler(echo, cehttp.HandlerOptions{Observer: obs}))
	defer srv.Close()
	in := tweetEvent(t, "t1", "hello world")
	in.SetExtension("kafkaoffset", "17")
	var first *cloudevents.Event
	// Delivered twice: the same 200 and the same reply both times.
	for i := range 2 {
		reply, status, err := cehttp.Post(context.Background(), srv.Client(), srv.URL, in)
		if err != nil || status != http.StatusOK || reply == nil {
			t.Fatalf("delivery %d: status %d reply %v err %v", i, status, reply, err)
		}
		m, err := event.DecodeMetadata(reply)
		if err != nil {
			t.Fatalf("reply: %v", err)
		}
		if m.TweetID != "t1" || m.Value != 11 || reply.ID() != event.MetadataID("t1", "echo") {
			t.Fatalf("reply = %+v id %s", m, reply.ID())
		}
		if first == nil {
			first = reply
		} else if string(first.Data()) != string(reply.Data()) || first.ID() != reply.ID() {
			t.Fatalf("second delivery answered differently: %s vs %s", first, reply)
		}
	}
	if got := obs.Get(transport.OutcomeOK); got != 2 {
		t.Fatalf("ok outcomes = %d, want 2", got)
	}
}

func TestHandlerStatuses(t *testing.T) {
	overload := func(context.Context, cloudevents.Event) (*cloudevents.Event, error) {
		return nil, transport.Overloaded(errors.New("queue full"))
	}
	transient := func(context.Context, cloudevents.Event) (*cloudevents.Event, error) {
		return nil, errors.New("store down")
	}
	notReady := func(context.Context, cloudevents.Event) (*cloudevents.Event, error) {
		return nil, transport.NotReady(errors.New("model loading"))
	}
	noReply := func(context.Context, cloudevents.Event) (*cloudevents.Event, error) { return nil, nil }
	panics := func(context.Context, cloudevents.Event) (*cloudevents.Event, error) {
		panic("tokenizer: index out of range")
	}
	good := tweetEvent(t, "t1", "hi")

	binary := func(mod func(h http.Header)) func() *http.Request {
		return func() *http.Request {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(string(good.Data())))
			req.Header.Set("ce-specversion", "1.0")
			req.Header.Set("ce-id", "t1")
			req.Header.Set("ce-source", event.SourceProducer)
			req.Header.Set("ce-type", event.TypeTweet)
			req.Header.Set("Content-Type", "application/json")
			mod(req.Header)
			return req
		}
	}
	structured := func(body string) func() *http.Request {
		return func() *http.Request {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
			req.Header.Set("Content-Type", "application/cloudevents+json")
			return req
		}
	}
	big := strings.Repeat("x", 2000)
	tests := []struct {
		name    string
		h       transport.Handler
		req     func() *http.Request
		status  int
		outcome string
		body    string // substring of the answer
	}{
		{"ok binary", echo, binary(func(http.Header) {}), 200, transport.OutcomeOK, ""},
		{"no reply", noReply, binary(func(http.Header) {}), 202, transport.OutcomeOK, ""},
		{"wrong type", echo, binary(func(h http.Header) { h.Set("ce-type", "com.example.other") }), 400, transport.OutcomeRejected, "field type"},
		{"missing text", echo, binary(func(h http.Header) {}), 0, "", ""}, // replaced below
		{"wrong content type", echo, binary(func(h http.Header) { h.Set("Content-Type", "text/plain") }), 415, transport.OutcomeRejected, "datacontenttype"},
		{"not a cloudevent", echo, func() *http.Request {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("{}"))
			req.Header.Set("Content-Type", "application/json")
			return req
		}, 415, transport.OutcomeUnsupported, "not a CloudEvent"},
		{"batch", echo, func() *http.Request {
			req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader("[]"))
			req.Header.Set("Content-Type", "application/cloudevents-batch+json")
			return req
		}, 415, transport.OutcomeUnsupported, "batch"},
		{"missing id", echo, binary(func(h http.Header) { h.Del("ce-id") }), 400, transport.OutcomeMalformed, "id"},
		{"bad specversion", echo, binary(func(h http.Header) { h.Set("ce-specversion", "9.9") }), 415, transport.OutcomeUnsupported, ""},
		{"broken structured json", echo, structured(`{"specversion":"1.0","id":`), 400, transport.OutcomeMalformed, "malformed"},
		{"structured missing source", echo, structured(`{"specversion":"1.0","id":"a","type":"x"}`), 400, transport.OutcomeMalformed, "source"},
		{"too large", echo, binary(func(http.Header) {}), 0, "", ""}, // replaced below
		{"overload", overload, binary(func(http.Header) {}), 429, transport.OutcomeOverloaded, "queue full"},
		{"not ready", notReady, binary(func(http.Header) {}), 503, transport.OutcomeFailed, "model loading"},
		{"transient", transient, binary(func(http.Header) {}), 500, transport.OutcomeFailed, "store down"},
		// 400: Knative does not retry it, so a poison event goes to the
		// dead-letter sink instead of crash-looping the function.
		{"panic", panics, binary(func(http.Header) {}), 400, transport.OutcomePanicked, "panicked"},
		{"GET", echo, func() *http.Request { return httptest.NewRequest(http.MethodGet, "/", nil) }, 405, "", ""},
	}
	tests[3].req = func() *http.Request {
		req := binary(func(http.Header) {})()
		req.Body = io.NopCloser(strings.NewReader(`{"id":"t1","user":"u","text":"  ","created_at":"2020-01-02T03:04:05Z"}`))
		req.ContentLength = -1
		return req
	}
	tests[3].status, tests[3].outcome, tests[3].body = 400, transport.OutcomeRejected, "data.text"
	tests[11].req = func() *http.Request {
		req := binary(func(http.Header) {})()
		req.Body = io.NopCloser(strings.NewReader(big))
		req.ContentLength = -1 // chunked: the limit must hold while reading, not only on the header
		return req
	}
	tests[11].status, tests[11].outcome, tests[11].body = 413, transport.OutcomeTooLarge, "limit"

	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			obs := &transporttest.Outcomes{}
			h := cehttp.NewHandler(tc.h, cehttp.HandlerOptions{MaxBodyBytes: 1024, Observer: obs, Logger: slog.New(slog.DiscardHandler)})
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, tc.req())
			if rec.Code != tc.status {
				t.Fatalf("status = %d, want %d (body %q)", rec.Code, tc.status, rec.Body.String())
			}
			if !strings.Contains(rec.Body.String(), tc.body) {
				t.Fatalf("body %q does not contain %q", rec.Body.String(), tc.body)
			}
			if tc.outcome != "" && obs.Get(tc.outcome) != 1 {
				t.Fatalf("outcome %q not counted: %v", tc.outcome, obs)
			}
			if tc.status == 429 && rec.Header().Get("Retry-After") == "" {
				t.Fatal("429 without Retry-After")
			}
		})
	}
}

func TestHandlerContentLengthOverLimit(t *testing.T) {
	called := false
	h := cehttp.NewHandler(func(context.Context, cloudevents.Event) (*cloudevents.Event, error) {
		called = true
		return nil, nil
	}, cehttp.HandlerOptions{MaxBodyBytes: 100, Logger: slog.New(slog.DiscardHandler)})
	e := tweetEvent(t, "t1", strings.Repeat("long ", 100))
	srv := httptest.NewServer(h)
	defer srv.Close()
	_, status, err := cehttp.Post(context.Background(), srv.Client(), srv.URL, e)
	var es *cehttp.ErrStatus
	if status != http.StatusRequestEntityTooLarge || !errors.As(err, &es) || called {
		t.Fatalf("status %d err %v called %v", status, err, called)
	}
	if cehttp.Retryable(status) {
		t.Fatal("413 must not be retried")
	}
}

func TestRetryable(t *testing.T) {
	for status, want := range map[int]bool{200: false, 400: false, 404: true, 408: true, 409: true, 413: false, 415: false, 429: true, 500: true, 503: true} {
		if got := cehttp.Retryable(status); got != want {
			t.Errorf("Retryable(%d) = %v, want %v", status, got, want)
		}
	}
}

func TestSenderRetriesThenSucceeds(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	s := cehttp.NewSender(srv.URL)
	s.Retry = cehttp.Retry{Retries: 5, Delay: time.Millisecond}
	if err := s.Send(context.Background(), []cloudevents.Event{tweetEvent(t, "t1", "x")}); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 3 {
		t.Fatalf("calls = %d, want 3", calls.Load())
	}
}

func TestSenderDoesNotRetryRejection(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		http.Error(w, "event t1: field type: nope", http.StatusBadRequest)
	}))
	defer srv.Close()
	s := cehttp.NewSender(srv.URL)
	s.Retry = cehttp.Retry{Retries: 5, Delay: time.Millisecond}
	err := s.Send(context.Background(), []cloudevents.Event{tweetEvent(t, "t1", "x"), tweetEvent(t, "t2", "y")})
	var es *cehttp.ErrStatus
	if !errors.As(err, &es) || es.Status != 400 || !strings.Contains(err.Error(), "field type") {
		t.Fatalf("err = %v", err)
	}
	if calls.Load() != 2 {
		t.Fatalf("calls = %d, want 2 (one per event, no retry)", calls.Load())
	}
}

func TestSenderGivesUpWithContext(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	s := cehttp.NewSender(srv.URL)
	s.Retry = cehttp.Retry{Retries: 1000, Delay: 10 * time.Millisecond}
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	err := s.Send(ctx, []cloudevents.Event{tweetEvent(t, "t1", "x")})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want deadline exceeded", err)
	}
}

// FuzzHandler: no request, however broken, panics the handler or gets an
// answer outside the documented set.
func FuzzHandler(f *testing.F) {
	good := tweetEvent(f, "t1", "hi")
	f.Add("1.0", "t1", event.SourceProducer, event.TypeTweet, "application/json", string(good.Data()))
	f.Add("1.0", "", "", "", "application/json", "{}")
	f.Add("", "", "", "", "application/cloudevents+json", `{"specversion":"1.0","id":"a","source":"b","type":"`+event.TypeTweet+`","data":{"id":"a","text":"x","created_at":"2020-01-01T00:00:00Z"}}`)
	f.Add("", "", "", "", "application/cloudevents+json", `{"specversion":"1.0","id":`)
	f.Add("1.0", "x", "y", event.TypeTweet, "application/json", `{"id":"x","text":"\xff","created_at":"bad"}`)
	f.Add("0.3", "x", "y", "z", "text/xml", "<a/>")
	h := cehttp.NewHandler(echo, cehttp.HandlerOptions{MaxBodyBytes: 4096, Logger: slog.New(slog.DiscardHandler)})
	allowed := map[int]bool{200: true, 400: true, 413: true, 415: true}
	f.Fuzz(func(t *testing.T, specversion, id, source, typ, ct, body string) {
		req := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(body))
		for k, v := range map[string]string{"ce-specversion": specversion, "ce-id": id, "ce-source": source, "ce-type": typ, "Content-Type": ct} {
			if v != "" && validHeader(v) {
				req.Header.Set(k, v)
			}
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("status %d (%s) for %q", rec.Code, rec.Body.String(), fmt.Sprint(specversion, id, source, typ, ct, body))
		}
	})
}

func validHeader(v string) bool {
	for _, c := range []byte(v) {
		if c < 0x20 || c == 0x7f {
			return false
		}
	}
	return true
}

// The direct reply writer and the SDK's writer give the same event back.
func TestReplyMatchesSDKWriter(t *testing.T) {
	md := event.Metadata{TweetID: "t\u00e91", Model: "echo", ModelVersion: "1", Label: "x", Value: 0.25,
		Probabilities: map[string]float64{"x": 0.25}, Tweet: event.Tweet{ID: "t\u00e91", Text: "h\u00e9llo", CreatedAt: time.Date(2020, 1, 2, 3, 4, 5, 123456789, time.UTC)}}
	want, err := event.NewMetadataEvent(md)
	if err != nil {
		t.Fatal(err)
	}
	want.SetExtension("count", 7)
	want.SetDataSchema("https://example.com/schema")
	reply := want.Clone()
	srv := httptest.NewServer(cehttp.NewHandler(func(context.Context, cloudevents.Event) (*cloudevents.Event, error) { return &reply, nil }, cehttp.HandlerOptions{}))
	defer srv.Close()
	got, status, err := cehttp.Post(context.Background(), srv.Client(), srv.URL, tweetEvent(t, "a", "b"))
	if err != nil || status != 200 {
		t.Fatalf("%d %v", status, err)
	}
	if got.String() != want.String() {
		t.Fatalf("reply differs:\n got %s\nwant %s", got, want)
	}
}

// A "Ce-" header with no name after the prefix made the SDK's binary reader
// index past the key's end; it is a malformed event (400), not a panic.
func TestEmptyExtensionHeaderIsRejected(t *testing.T) {
	h := cehttp.NewHandler(func(context.Context, cloudevents.Event) (*cloudevents.Event, error) { return nil, nil }, cehttp.HandlerOptions{Logger: slog.New(slog.DiscardHandler)})
	r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(`{}`))
	r.Header = http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {"1"}, "Ce-Source": {"/s"}, "Ce-Type": {"t"}, "Ce-": {"x"}, "Content-Type": {"application/json"}}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status %d (%s), want 400", w.Code, w.Body)
	}
}
