package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// The flags and environment of produce reach mode/produce (whose tests
// cover Kafka, resuming and stopping): K_SINK picks HTTP, START_ROW the
// first row, and the summary line says where to resume.
func TestProduceFlags(t *testing.T) {
	var got atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got.Add(1)
		w.WriteHeader(http.StatusAccepted)
	}))
	defer srv.Close()
	t.Setenv("K_SINK", srv.URL)
	t.Setenv("START_ROW", "11")
	var out bytes.Buffer
	root := newRootCmd()
	root.SetOut(&out)
	root.SetErr(&bytes.Buffer{})
	root.SetArgs([]string{"produce", "--csv", "../../data/sample.csv", "--limit", "50"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got.Load() != 50 || !strings.Contains(out.String(), "sent 50 tweets") || !strings.Contains(out.String(), "resume with --start-row 61") {
		t.Fatalf("sink got %d events; printed %q", got.Load(), out.String())
	}
}
