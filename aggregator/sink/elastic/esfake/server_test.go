package esfake

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func call(t *testing.T, srv *httptest.Server, method, path, body string) (int, map[string]any, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	res, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	var out map[string]any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &out); err != nil {
			t.Fatalf("%s %s: body is not JSON: %s", method, path, b)
		}
	}
	return res.StatusCode, out, res.Header
}

func start(t *testing.T, opts Options) (*Server, *httptest.Server) {
	s := New(opts)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return s, srv
}

func TestInfoAndProductHeader(t *testing.T) {
	_, srv := start(t, Options{})
	st, body, h := call(t, srv, "GET", "/", "")
	if st != 200 || h.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Fatalf("GET / = %d, header %q", st, h.Get("X-Elastic-Product"))
	}
	if body["version"].(map[string]any)["number"] != Version || body["tagline"] != "You Know, for Search" {
		t.Errorf("info = %v", body)
	}
	// Errors carry the header too.
	_, _, h = call(t, srv, "GET", "/missing/_count", "")
	if h.Get("X-Elastic-Product") != "Elasticsearch" {
		t.Error("error response without the product header")
	}
}

func TestIndexLifecycleAndErrorEnvelope(t *testing.T) {
	_, srv := start(t, Options{})
	if st, _, _ := call(t, srv, "HEAD", "/tw", ""); st != 404 {
		t.Errorf("HEAD missing = %d", st)
	}
	mapping := `{"mappings":{"properties":{"n":{"type":"long"}}}}`
	if st, body, _ := call(t, srv, "PUT", "/tw", mapping); st != 200 || body["acknowledged"] != true || body["index"] != "tw" {
		t.Fatalf("PUT = %d %v", st, body)
	}
	if st, _, _ := call(t, srv, "HEAD", "/tw", ""); st != 200 {
		t.Errorf("HEAD = %d", st)
	}
	st, body, _ := call(t, srv, "PUT", "/tw", mapping)
	e, _ := body["error"].(map[string]any)
	if st != 400 || body["status"] != 400.0 || e["type"] != "resource_already_exists_exception" || len(e["root_cause"].([]any)) != 1 || e["index"] != "tw" {
		t.Errorf("PUT again = %d %v", st, body)
	}
	// The mapping was kept; a type change is refused, a new field added.
	if st, body, _ = call(t, srv, "PUT", "/tw/_mapping", `{"properties":{"n":{"type":"keyword"}}}`); st != 400 || !strings.Contains(body["error"].(map[string]any)["reason"].(string), "cannot be changed from type [long] to [keyword]") {
		t.Errorf("type change = %d %v", st, body)
	}
	if st, _, _ = call(t, srv, "PUT", "/tw/_mapping", `{"properties":{"m":{"type":"keyword"}}}`); st != 200 {
		t.Errorf("add field = %d", st)
	}
	_, body, _ = call(t, srv, "GET", "/tw/_mapping", "")
	props := body["tw"].(map[string]any)["mappings"].(map[string]any)["properties"].(map[string]any)
	if len(props) != 2 {
		t.Errorf("mapping = %v", props)
	}
	if st, body, _ = call(t, srv, "PUT", "/Bad", ""); st != 400 || body["error"].(map[string]any)["type"] != "invalid_index_name_exception" {
		t.Errorf("bad name = %d %v", st, body)
	}
	if st, _, _ = call(t, srv, "DELETE", "/tw", ""); st != 200 {
		t.Errorf("DELETE = %d", st)
	}
	if st, body, _ = call(t, srv, "DELETE", "/tw", ""); st != 404 || body["error"].(map[string]any)["type"] != "index_not_found_exception" {
		t.Errorf("DELETE again = %d %v", st, body)
	}
}

func TestBulkItemsInOrder(t *testing.T) {
	_, srv := start(t, Options{})
	body := `{"index":{"_index":"b","_id":"1"}}
{"n":1}
{"create":{"_index":"b","_id":"1"}}
{"n":2}
{"update":{"_index":"b","_id":"1"}}
{"doc":{"m":{"x":1}}}
{"update":{"_index":"b","_id":"1"}}
{"doc":{"m":{"x":1}}}
{"update":{"_index":"b","_id":"2"}}
{"doc":{"n":5}}
{"update":{"_index":"b","_id":"2"}}
{"doc":{"n":5},"doc_as_upsert":true}
{"delete":{"_index":"b","_id":"3"}}
{"delete":{"_index":"b","_id":"2"}}
`
	st, res, _ := call(t, srv, "POST", "/_bulk", body)
	if st != 200 || res["errors"] != true {
		t.Fatalf("bulk = %d %v", st, res)
	}
	items := res["items"].([]any)
	want := []struct {
		action, result string
		status         float64
		errType        string
	}{
		{"index", "created", 201, ""},
		{"create", "", 409, "version_conflict_engine_exception"},
		{"update", "updated", 200, ""},
		{"update", "noop", 200, ""},
		{"update", "", 404, "document_missing_exception"},
		{"update", "created", 201, ""},
		{"delete", "not_found", 404, ""},
		{"delete", "deleted", 200, ""},
	}
	if len(items) != len(want) {
		t.Fatalf("%d items, want %d", len(items), len(want))
	}
	for i, w := range want {
		it := items[i].(map[string]any)[w.action].(map[string]any)
		errType := ""
		if e, ok := it["error"].(map[string]any); ok {
			errType = e["type"].(string)
		}
		if it["status"] != w.status || errType != w.errType || (w.result != "" && it["result"] != w.result) {
			t.Errorf("item %d = %v, want %+v", i, it, w)
		}
	}
	_, doc, _ := call(t, srv, "GET", "/b/_doc/1", "")
	src := doc["_source"].(map[string]any)
	if src["n"] != 1.0 || src["m"].(map[string]any)["x"] != 1.0 || doc["_version"] != 2.0 {
		t.Errorf("doc 1 = %v", doc)
	}
}

func TestBulkRequestErrors(t *testing.T) {
	_, srv := start(t, Options{})
	for name, body := range map[string]string{
		"no final newline": `{"index":{"_index":"b"}}` + "\n" + `{"n":1}`,
		"bad action":       `{"upsert":{"_index":"b"}}` + "\n{}\n",
		"not json":         "hello\n",
		"no index":         `{"index":{}}` + "\n{}\n",
		"empty":            "",
	} {
		st, res, _ := call(t, srv, "POST", "/_bulk", body)
		if st != 400 || res["error"] == nil {
			t.Errorf("%s: %d %v", name, st, res)
		}
	}
}

func TestRefreshVisibilityAndSearch(t *testing.T) {
	_, srv := start(t, Options{})
	call(t, srv, "POST", "/v/_bulk", `{"index":{"_id":"a"}}`+"\n"+`{"k":"x"}`+"\n"+`{"index":{"_id":"b"}}`+"\n"+`{"k":"y"}`+"\n")
	if _, res, _ := call(t, srv, "GET", "/v/_count", ""); res["count"] != 0.0 {
		t.Errorf("count before refresh = %v", res["count"])
	}
	// GET is realtime.
	if st, _, _ := call(t, srv, "GET", "/v/_doc/a", ""); st != 200 {
		t.Errorf("realtime get = %d", st)
	}
	call(t, srv, "POST", "/v/_refresh", "")
	if _, res, _ := call(t, srv, "GET", "/v/_count", ""); res["count"] != 2.0 {
		t.Errorf("count after refresh = %v", res["count"])
	}
	st, res, _ := call(t, srv, "POST", "/v/_search", `{"query":{"term":{"k":"y"}}}`)
	hits := res["hits"].(map[string]any)
	if st != 200 || hits["total"].(map[string]any)["value"] != 1.0 || hits["total"].(map[string]any)["relation"] != "eq" || res["timed_out"] != false || res["_shards"] == nil {
		t.Fatalf("search = %d %v", st, res)
	}
	if h := hits["hits"].([]any)[0].(map[string]any); h["_id"] != "b" || h["_source"].(map[string]any)["k"] != "y" {
		t.Errorf("hit = %v", h)
	}
	if st, _, _ := call(t, srv, "POST", "/v/_search", `{"query":{"match":{"k":"y"}}}`); st != 400 {
		t.Errorf("unsupported query = %d, want 400", st)
	}
}

func TestTemplateAppliedOnAutoCreate(t *testing.T) {
	_, srv := start(t, Options{})
	if st, _, _ := call(t, srv, "PUT", "/_index_template/t", `{"index_patterns":["logs-*"],"priority":5,"template":{"mappings":{"dynamic":"strict","properties":{"a":{"type":"keyword"}}}}}`); st != 200 {
		t.Fatal(st)
	}
	_, res, _ := call(t, srv, "POST", "/_bulk", `{"index":{"_index":"logs-1","_id":"1"}}`+"\n"+`{"a":"x","b":1}`+"\n")
	it := res["items"].([]any)[0].(map[string]any)["index"].(map[string]any)
	if it["status"] != 400.0 || it["error"].(map[string]any)["type"] != "strict_dynamic_mapping_exception" {
		t.Errorf("strict template not applied: %v", it)
	}
	if st, _, _ := call(t, srv, "PUT", "/_index_template/bad", `{"template":{}}`); st != 400 {
		t.Errorf("template without patterns = %d", st)
	}
}

func TestFaultsAndOutage(t *testing.T) {
	clock := NewClock(time.Unix(0, 0))
	s, srv := start(t, Options{Now: clock.Now})
	s.FailRequests(1, 429)
	if st, res, _ := call(t, srv, "GET", "/", ""); st != 429 || res["error"].(map[string]any)["type"] != "es_rejected_execution_exception" {
		t.Errorf("injected 429 = %d %v", st, res)
	}
	s.SetItemFault(func(_, _, id string) int {
		if id == "2" {
			return 429
		}
		return 0
	})
	_, res, _ := call(t, srv, "POST", "/f/_bulk", `{"index":{"_id":"1"}}`+"\n{}\n"+`{"index":{"_id":"2"}}`+"\n{}\n")
	items := res["items"].([]any)
	if res["errors"] != true || items[0].(map[string]any)["index"].(map[string]any)["status"] != 201.0 || items[1].(map[string]any)["index"].(map[string]any)["status"] != 429.0 {
		t.Errorf("item fault: %v", res)
	}
	s.Outage(30*time.Second, OutageUnavailable)
	if st, _, _ := call(t, srv, "GET", "/", ""); st != 503 {
		t.Errorf("during outage = %d", st)
	}
	clock.Advance(30 * time.Second)
	if st, _, _ := call(t, srv, "GET", "/", ""); st != 200 {
		t.Errorf("after outage = %d", st)
	}
}

// FuzzParseBulk: no body makes the bulk parser panic, and what it accepts
// has an index and a known action.
func FuzzParseBulk(f *testing.F) {
	f.Add("b", `{"index":{"_id":"1"}}`+"\n"+`{"n":1}`+"\n")
	f.Add("", `{"update":{"_index":"b","_id":"1"}}`+"\n"+`{"doc":{"a":1},"doc_as_upsert":true}`+"\n")
	f.Add("", `{"delete":{"_index":"b","_id":"1"}}`+"\n")
	f.Add("b", "\n\n{}\n")
	f.Add("b", `{"index":{}}`+"\n"+`[1,2]`+"\n")
	f.Fuzz(func(t *testing.T, index, body string) {
		ops, err := parseBulk(index, []byte(body))
		if err != nil {
			return
		}
		for _, op := range ops {
			if op.meta.Index == "" || (op.action != "index" && op.action != "create" && op.action != "update" && op.action != "delete") {
				t.Fatalf("accepted op %+v", op)
			}
		}
		// Applying what parsed must not panic either.
		s := New(Options{})
		for i := range ops {
			s.mu.Lock()
			s.applyOp(&ops[i])
			s.mu.Unlock()
		}
	})
}
