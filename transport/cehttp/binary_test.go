package cehttp

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2"
)

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
