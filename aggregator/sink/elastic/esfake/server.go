// Package esfake is an in-process Elasticsearch protocol fake for tests: an
// http.Handler (wrap it with httptest.NewServer) that speaks the REST
// protocol the go-elasticsearch client and tweetflow use, with injectable
// faults.
//
// It follows the Elasticsearch 8.x reference documentation; each behaviour
// below cites the page it follows (paths relative to
// https://www.elastic.co/guide/en/elasticsearch/reference/8.19/). What it
// does not implement answers with a clear error rather than pretending: in
// particular it cannot run Painless; runtime-field scripts are emulated only
// when a Go equivalent is registered for their exact source
// (RegisterScript), and that emulation is the test's claim about what the
// script does, documented beside the script.
//
// One fake holds one single-node, single-shard cluster: operations on a
// document are applied in request order under one lock, which is the
// ordering Elasticsearch gives per shard (docs-replication.html).
package esfake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Version is the Elasticsearch version the fake reports on GET /.
const Version = "8.19.7"

// ScriptFunc emulates a Painless runtime-field script: it receives the
// document's _source and the script's params and returns the emitted values.
type ScriptFunc func(source map[string]any, params map[string]any) ([]any, error)

// ItemFault decides a per-item fault for one bulk action: it returns the
// HTTP status to fail the item with (429, 500, 503...), or 0 to process it.
type ItemFault func(action, index, id string) int

// OutageMode says how requests fail during an outage.
type OutageMode int

const (
	// OutageDrop closes the connection without an answer, as a node that is
	// down or restarting behind a load balancer does.
	OutageDrop OutageMode = iota
	// OutageUnavailable answers 503 with the error envelope.
	OutageUnavailable
)

// Options configures a fake.
type Options struct {
	// Now is the fake's clock, used for outages; nil means time.Now.
	Now func() time.Time
	// APIKey, when set, is the only accepted credential ("Authorization:
	// ApiKey <APIKey>"), unless Username/Password match.
	APIKey string
	// Username and Password, when set, are accepted as HTTP basic auth.
	Username, Password string
}

// Server is the fake. Create it with New; it is safe for concurrent use.
type Server struct {
	now  func() time.Time
	opts Options

	mu        sync.Mutex
	indices   map[string]*index
	templates map[string]map[string]any
	scripts   map[string]ScriptFunc
	itemFault ItemFault
	// failRequests fails the next n requests with failStatus.
	failRequests int
	failStatus   int
	outageUntil  time.Time
	outageMode   OutageMode
	stats        Stats
	// pits are the open points in time by id; pitSeq numbers them.
	pits   map[string]*pit
	pitSeq int
}

// Stats counts what the fake served.
type Stats struct {
	Requests      int
	BulkRequests  int
	BulkItems     int
	FailedItems   int
	RejectedReqs  int
	DroppedConns  int
	Unauthorized  int
	MappingErrors int
	// OpenPITs is the number of points in time open (not closed, not
	// expired) after the last request that touched them.
	OpenPITs int
}

// New returns an empty fake.
func New(opts Options) *Server {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Server{
		now:       now,
		opts:      opts,
		indices:   map[string]*index{},
		templates: map[string]map[string]any{},
		scripts:   map[string]ScriptFunc{},
		pits:      map[string]*pit{},
	}
}

// RegisterScript registers the Go emulation of a Painless script source
// used by runtime fields.
func (s *Server) RegisterScript(source string, fn ScriptFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.scripts[source] = fn
}

// SetItemFault installs (or, with nil, removes) a per-item fault.
func (s *Server) SetItemFault(f ItemFault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.itemFault = f
}

// FailRequests makes the next n requests fail as a whole with status
// (429: es_rejected_execution_exception; 5xx: an unavailable cluster).
func (s *Server) FailRequests(n, status int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failRequests, s.failStatus = n, status
}

// Outage makes every request fail for d from now, by the fake's clock.
func (s *Server) Outage(d time.Duration, mode OutageMode) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.outageUntil = s.now().Add(d)
	s.outageMode = mode
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

// Source returns a copy of a document's live _source (what a realtime GET
// sees), for tests.
func (s *Server) Source(indexName, id string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[indexName]
	if ix == nil {
		return nil, false
	}
	d := ix.docs[id]
	if d == nil {
		return nil, false
	}
	return deepCopy(d.source).(map[string]any), true
}

// DocCount returns the number of live documents of an index.
func (s *Server) DocCount(indexName string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ix := s.indices[indexName]; ix != nil {
		return len(ix.docs)
	}
	return 0
}

// Mapping returns a copy of an index's mappings.
func (s *Server) Mapping(indexName string) (map[string]any, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[indexName]
	if ix == nil {
		return nil, false
	}
	return deepCopy(ix.mappings).(map[string]any), true
}

// esError is an Elasticsearch error: the "error" object of the envelope
// (common-options.html#common-options-error-options; the shape every REST
// error has: {"error":{"root_cause":[...],"type","reason",...},"status"}).
type esError struct {
	Status int
	Type   string
	Reason string
	Index  string
}

func (e *esError) Error() string { return e.Type + ": " + e.Reason }

func (e *esError) object() map[string]any {
	o := map[string]any{"type": e.Type, "reason": e.Reason}
	if e.Index != "" {
		o["index"] = e.Index
		o["index_uuid"] = uuidOf(e.Index)
	}
	return o
}

func (e *esError) envelope() map[string]any {
	o := e.object()
	rc := e.object()
	o["root_cause"] = []any{rc}
	return map[string]any{"error": o, "status": e.Status}
}

func errf(status int, typ, format string, a ...any) *esError {
	return &esError{Status: status, Type: typ, Reason: fmt.Sprintf(format, a...)}
}

func uuidOf(name string) string {
	// A stable fake UUID per index name: 22 characters like the real ones.
	h := uint64(14695981039346656037)
	for i := 0; i < len(name); i++ {
		h = (h ^ uint64(name[i])) * 1099511628211
	}
	return fmt.Sprintf("%022x", h)[:22]
}

// ServeHTTP routes a request.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// Every response carries the product header: the Go client refuses a
	// server without it (the client's product check, 7.14+).
	w.Header().Set("X-Elastic-Product", "Elasticsearch")

	s.mu.Lock()
	s.stats.Requests++
	if s.now().Before(s.outageUntil) {
		mode := s.outageMode
		if mode == OutageDrop {
			s.stats.DroppedConns++
		} else {
			s.stats.RejectedReqs++
		}
		s.mu.Unlock()
		if mode == OutageDrop {
			dropConnection(w)
			return
		}
		writeError(w, errf(503, "cluster_block_exception", "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];"))
		return
	}
	if s.failRequests > 0 {
		s.failRequests--
		s.stats.RejectedReqs++
		status := s.failStatus
		s.mu.Unlock()
		writeError(w, requestFault(status))
		return
	}
	s.mu.Unlock()

	if err := s.authenticate(r); err != nil {
		s.mu.Lock()
		s.stats.Unauthorized++
		s.mu.Unlock()
		w.Header().Set("WWW-Authenticate", `Basic realm="security", charset="UTF-8"`)
		w.Header().Add("WWW-Authenticate", "ApiKey")
		writeError(w, err)
		return
	}

	body, err := io.ReadAll(r.Body)
	if err != nil {
		writeError(w, errf(400, "parse_exception", "request body: %v", err))
		return
	}
	resp, status, esErr := s.route(r, body)
	if esErr != nil {
		writeError(w, esErr)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	if r.Method == http.MethodHead || resp == nil {
		return
	}
	_ = json.NewEncoder(w).Encode(resp)
}

// requestFault is the whole-request error for an injected status:
// 429 is what a node answers when its write thread pool queue is full
// (docs-bulk.html, "rejected execution"); 5xx stand for an unavailable
// cluster or node.
func requestFault(status int) *esError {
	if status == http.StatusTooManyRequests {
		return errf(429, "es_rejected_execution_exception", "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, max_coordinating_and_primary_bytes=1]")
	}
	return errf(status, "unavailable_shards_exception", "[tweetflow][0] primary shard is not active Timeout: [1m]")
}

func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		// HTTP/2 cannot hijack; fall back to a gateway error.
		writeError(w, errf(502, "bad_gateway", "connection dropped"))
		return
	}
	conn, _, err := hj.Hijack()
	if err == nil {
		_ = conn.Close()
	}
}

func (s *Server) authenticate(r *http.Request) *esError {
	if s.opts.APIKey == "" && s.opts.Username == "" {
		return nil
	}
	h := r.Header.Get("Authorization")
	// HTTP authentication schemes are case-insensitive (RFC 9110 §11.1);
	// the Go client sends "APIKey".
	if scheme, cred, ok := strings.Cut(h, " "); ok && s.opts.APIKey != "" && strings.EqualFold(scheme, "ApiKey") && cred == s.opts.APIKey {
		return nil
	}
	if s.opts.Username != "" {
		if u, p, ok := r.BasicAuth(); ok && u == s.opts.Username && p == s.opts.Password {
			return nil
		}
	}
	// security-api-authenticate.html: 401 with security_exception.
	if h == "" {
		return errf(401, "security_exception", "missing authentication credentials for REST request [%s]", r.URL.Path)
	}
	return errf(401, "security_exception", "unable to authenticate with provided credentials and anonymous access is not allowed for this request")
}

func writeError(w http.ResponseWriter, e *esError) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(e.envelope())
}

// route dispatches on method and path. It returns the response body and
// status, or an error for the envelope.
func (s *Server) route(r *http.Request, body []byte) (any, int, *esError) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) == 1 && parts[0] == "" {
		parts = nil
	}
	q := r.URL.Query()
	m := r.Method
	switch {
	case len(parts) == 0 && (m == http.MethodGet || m == http.MethodHead):
		return s.info(), 200, nil
	case len(parts) == 1 && parts[0] == "_bulk" && (m == http.MethodPost || m == http.MethodPut):
		return s.bulk("", body, q)
	case len(parts) == 2 && parts[1] == "_bulk" && (m == http.MethodPost || m == http.MethodPut):
		return s.bulk(parts[0], body, q)
	case len(parts) == 1 && parts[0] == "_refresh":
		return s.refresh("")
	case len(parts) == 2 && parts[1] == "_refresh":
		return s.refresh(parts[0])
	case len(parts) == 2 && parts[0] == "_index_template":
		return s.indexTemplate(m, parts[1], body)
	case len(parts) == 2 && parts[0] == "_cluster" && parts[1] == "health":
		return map[string]any{"cluster_name": "esfake", "status": "green", "number_of_nodes": 1, "timed_out": false}, 200, nil
	case len(parts) == 1 && parts[0] == "_mget":
		return s.mget("", body)
	case len(parts) == 2 && parts[1] == "_mget":
		return s.mget(parts[0], body)
	case len(parts) == 2 && parts[1] == "_mapping":
		return s.mapping(m, parts[0], body)
	case len(parts) == 2 && parts[1] == "_search":
		return s.search(parts[0], body, q)
	case len(parts) == 1 && parts[0] == "_search" && (m == http.MethodGet || m == http.MethodPost):
		return s.search("", body, q)
	case len(parts) == 2 && parts[1] == "_pit" && m == http.MethodPost:
		return s.openPIT(parts[0], q)
	case len(parts) == 1 && parts[0] == "_pit" && m == http.MethodDelete:
		return s.closePIT(body)
	case len(parts) == 2 && parts[1] == "_count":
		return s.count(parts[0], body)
	case len(parts) == 3 && parts[1] == "_doc" && m == http.MethodGet:
		return s.getDoc(parts[0], parts[2])
	case len(parts) == 1 && !strings.HasPrefix(parts[0], "_"):
		return s.indexOp(m, parts[0], body)
	}
	return nil, 0, errf(400, "illegal_argument_exception", "esfake: no handler for [%s] %s", m, r.URL.Path)
}

// info answers GET / (rest-api-root.html; the "You Know, for Search" body).
func (s *Server) info() map[string]any {
	return map[string]any{
		"name":         "esfake-0",
		"cluster_name": "esfake",
		"cluster_uuid": uuidOf("cluster"),
		"version": map[string]any{
			"number":                              Version,
			"build_flavor":                        "default",
			"build_type":                          "docker",
			"lucene_version":                      "9.12.2",
			"minimum_wire_compatibility_version":  "7.17.0",
			"minimum_index_compatibility_version": "7.0.0",
		},
		"tagline": "You Know, for Search",
	}
}

// decodeJSON decodes a request body, keeping numbers exact.
func decodeJSON(body []byte, v any) *esError {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(v); err != nil {
		return errf(400, "x_content_parse_exception", "[1:1] failed to parse request body: %v", err)
	}
	return nil
}

func boolParam(q map[string][]string, name string) bool {
	v, ok := q[name]
	if !ok {
		return false
	}
	if len(v) == 0 || v[0] == "" {
		return true
	}
	b, _ := strconv.ParseBool(v[0])
	return b || v[0] == "wait_for"
}
