package cehttp

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"reflect"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"github.com/cloudevents/sdk-go/v2/binding"
	cehttp "github.com/cloudevents/sdk-go/v2/protocol/http"

	"github.com/tweetflow/tweetflow/event"
)

// The fast path must take what Knative delivers of tweetflow's events (the
// binary-mode headers the SDK writes), or it only adds work.
func TestReadBinaryV1TakesBinaryEvents(t *testing.T) {
	tw := event.Tweet{ID: "t1", User: "u", Text: "hi", CreatedAt: time.Unix(1700000000, 5).UTC()}
	e, _ := event.NewTweetEvent(tw)
	req, err := http.NewRequest(http.MethodPost, "http://x/", nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := cehttp.WriteRequest(context.Background(), binding.ToMessage(&e), req); err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(req.Body)
	got, ok := readBinaryV1(req.Header, body)
	if !ok {
		t.Fatalf("fast path refused %v", req.Header)
	}
	want, err := binding.ToEvent(context.Background(), cehttp.NewMessage(req.Header, io.NopCloser(bytes.NewReader(body))))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("fast path:\n%v\nSDK:\n%v", got, want)
	}
}

// FuzzReadBinaryV1: whenever the fast path takes a request, the SDK's
// decoding of it succeeds with the very same event. Header keys are used
// as given (not canonicalised), to cover handlers called without net/http's
// parser.
func FuzzReadBinaryV1(f *testing.F) {
	f.Add("1.0", "id", "/src", "dev.tweetflow.tweet.v1", "application/json", "2020-01-01T00:00:00Z", "Ce-Partitionkey", "id", "Ce-Model", "m", []byte(`{"id":"id"}`))
	f.Add("1.0", " id ", "::bad", "t", "application/cloudevents+json", "bad", "Ce-ID", "x", "Ce-", "v", []byte{})
	f.Add("0.3", "i", "s", "t", "text/plain", "", "ce-id", "x", "Content-Type", "a/b", []byte(nil))
	f.Add("1.0", "i", "s", "t", "", "", "Ce-Datacontenttype", "x", "Ce-Dataschema", "http://x/y", []byte("x"))
	f.Add("1.0", "i", "s", "t", "application/cloudevents-batch+json", "", "Ce-Bad_name", "x", "Ce-Éx", "1", []byte("x"))
	f.Fuzz(func(t *testing.T, specversion, id, source, typ, ct, tm, k1, v1, k2, v2 string, body []byte) {
		h := http.Header{}
		add := func(k, v string) {
			if v != "" {
				h[k] = append(h[k], v)
			}
		}
		add("Ce-Specversion", specversion)
		add("Ce-Id", id)
		add("Ce-Source", source)
		add("Ce-Type", typ)
		add("Content-Type", ct)
		add("Ce-Time", tm)
		add(k1, v1)
		add(k2, v2)
		got, ok := readBinaryV1(h, body)
		if !ok {
			return // the SDK decodes it, as before
		}
		msg := cehttp.NewMessage(h, io.NopCloser(bytes.NewReader(body)))
		if msg.ReadEncoding() != binding.EncodingBinary {
			t.Fatalf("fast path took a request the SDK reads as %v", msg.ReadEncoding())
		}
		want, err := binding.ToEvent(context.Background(), msg)
		if err != nil {
			t.Fatalf("fast path took a request the SDK refuses (%v): %v", err, got)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("fast path:\n%#v\nSDK:\n%#v", got, want)
		}
	})
}

// A "Ce-" header with no name after the prefix made the SDK's binary reader
// index past the key's end; it is a malformed event (400), not a panic.
func TestEmptyExtensionHeaderIsRejected(t *testing.T) {
	h := NewHandler(func(context.Context, cloudevents.Event) (*cloudevents.Event, error) { return nil, nil }, HandlerOptions{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	r := httptest.NewRequest(http.MethodPost, "/", bytes.NewReader([]byte(`{}`)))
	r.Header = http.Header{"Ce-Specversion": {"1.0"}, "Ce-Id": {"1"}, "Ce-Source": {"/s"}, "Ce-Type": {"t"}, "Ce-": {"x"}, "Content-Type": {"application/json"}}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusBadRequest {
		t.Fatalf("status %d (%s), want 400", w.Code, w.Body)
	}
}
