package esfake

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestPointInTimePaging: a PIT sees the index as it was when opened (a
// later write and refresh is invisible to it, visible to a plain search);
// a sort with search_after pages through it with the implicit _shard_doc
// tiebreaker, so documents with the same timestamp are neither lost nor
// repeated; close frees it, a second close answers 404.
func TestPointInTimePaging(t *testing.T) {
	s, srv := start(t, Options{})
	call(t, srv, "PUT", "/tw", `{"mappings":{"properties":{"ts":{"type":"date"},"k":{"type":"keyword"}}}}`)
	var bulk strings.Builder
	for i := range 7 {
		// Pairs of documents share a timestamp: the sort needs the tiebreaker.
		fmt.Fprintf(&bulk, "{\"index\":{\"_id\":\"d%d\"}}\n{\"ts\":\"2020-01-01T00:00:0%dZ\",\"k\":\"v%d\"}\n", i, 6-i/2*2, i)
	}
	call(t, srv, "POST", "/tw/_bulk?refresh=true", bulk.String())

	if st, body, _ := call(t, srv, "POST", "/tw/_pit", ""); st != 400 || !strings.Contains(fmt.Sprint(body), "keep_alive") {
		t.Errorf("open without keep_alive = %d %v", st, body)
	}
	st, body, _ := call(t, srv, "POST", "/tw/_pit?keep_alive=1m", "")
	id, _ := body["id"].(string)
	if st != 200 || id == "" {
		t.Fatalf("open = %d %v", st, body)
	}
	if s.Stats().OpenPITs != 1 {
		t.Errorf("OpenPITs = %d", s.Stats().OpenPITs)
	}
	call(t, srv, "POST", "/tw/_bulk?refresh=true", "{\"index\":{\"_id\":\"late\"}}\n{\"ts\":\"2019-01-01T00:00:00Z\"}\n")

	if st, body, _ := call(t, srv, "POST", "/tw/_search", `{"pit":{"id":"`+id+`"}}`); st != 400 || !strings.Contains(fmt.Sprint(body), "[indices] cannot be used with point in time") {
		t.Errorf("pit with an index = %d %v", st, body)
	}
	var got []string
	var after string
	var lastTS any
	for page := 0; ; page++ {
		req := `{"size":3,"pit":{"id":"` + id + `","keep_alive":"1m"},"sort":[{"ts":"asc"}]` + after + `}`
		st, body, _ := call(t, srv, "POST", "/_search", req)
		if st != 200 || body["pit_id"] != id {
			t.Fatalf("page %d = %d %v", page, st, body)
		}
		hits := body["hits"].(map[string]any)["hits"].([]any)
		if len(hits) == 0 {
			break
		}
		for _, h := range hits {
			hm := h.(map[string]any)
			got = append(got, hm["_id"].(string))
			sv := hm["sort"].([]any)
			if len(sv) != 2 {
				t.Fatalf("sort values %v: want the date and the _shard_doc tiebreaker", sv)
			}
			lastTS = sv[0]
			b, _ := json.Marshal(sv) // as a client sends them back
			after = `,"search_after":` + string(b)
		}
		if page > 5 {
			t.Fatal("paging does not end")
		}
	}
	// ts ascending (d6 at :00, d4,d5 at :02, d2,d3 at :04, d0,d1 at :06),
	// ties in index order; "late" came after the PIT.
	if want := "d6 d4 d5 d2 d3 d0 d1"; strings.Join(got, " ") != want {
		t.Errorf("paged %v, want %s", got, want)
	}
	if want := float64(time.Date(2020, 1, 1, 0, 0, 6, 0, time.UTC).UnixMilli()); lastTS != want {
		t.Errorf("a date's sort value is %v, want epoch milliseconds %v", lastTS, want)
	}
	if _, body, _ := call(t, srv, "POST", "/tw/_search", `{"query":{"ids":{"values":["late"]}}}`); body["hits"].(map[string]any)["total"].(map[string]any)["value"] != 1.0 {
		t.Errorf("a plain search does not see the later write: %v", body)
	}

	if st, body, _ := call(t, srv, "POST", "/_search", `{"pit":{"id":"`+id+`"},"sort":["ts"],"search_after":[1]}`); st != 400 || !strings.Contains(fmt.Sprint(body), "search_after has 1 value(s) but sort has 2") {
		t.Errorf("short search_after = %d %v", st, body)
	}
	if st, body, _ := call(t, srv, "DELETE", "/_pit", `{"id":"`+id+`"}`); st != 200 || body["num_freed"] != 1.0 {
		t.Errorf("close = %d %v", st, body)
	}
	if st, body, _ := call(t, srv, "DELETE", "/_pit", `{"id":"`+id+`"}`); st != 404 || body["num_freed"] != 0.0 {
		t.Errorf("second close = %d %v", st, body)
	}
	if st, body, _ := call(t, srv, "POST", "/_search", `{"pit":{"id":"`+id+`"}}`); st != 404 || !strings.Contains(fmt.Sprint(body), "search_context_missing_exception") {
		t.Errorf("search of a closed pit = %d %v", st, body)
	}
}

// TestPointInTimeExpires: a PIT lives keep_alive past its last use; then a
// search of it answers 404 search_context_missing_exception.
func TestPointInTimeExpires(t *testing.T) {
	clock := NewClock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	s, srv := start(t, Options{Now: clock.Now})
	call(t, srv, "PUT", "/tw", `{"mappings":{"properties":{"k":{"type":"keyword"}}}}`)
	_, body, _ := call(t, srv, "POST", "/tw/_pit?keep_alive=30s", "")
	id := body["id"].(string)
	clock.Advance(20 * time.Second)
	if st, _, _ := call(t, srv, "POST", "/_search", `{"pit":{"id":"`+id+`","keep_alive":"30s"}}`); st != 200 {
		t.Fatalf("search within keep_alive = %d", st)
	}
	clock.Advance(25 * time.Second) // 45 s after the open, 25 s after the use
	if st, _, _ := call(t, srv, "POST", "/_search", `{"pit":{"id":"`+id+`"}}`); st != 200 {
		t.Fatalf("search within the extended keep_alive = %d", st)
	}
	clock.Advance(31 * time.Second)
	if st, body, _ := call(t, srv, "POST", "/_search", `{"pit":{"id":"`+id+`"}}`); st != 404 || !strings.Contains(fmt.Sprint(body), "No search context found") {
		t.Errorf("search after expiry = %d %v", st, body)
	}
	if s.Stats().OpenPITs != 0 {
		t.Errorf("OpenPITs = %d after expiry", s.Stats().OpenPITs)
	}
}

// TestSortOrders: desc, keyword sort, missing values last in both
// directions, and an unmapped sort field refused as Elasticsearch does.
func TestSortOrders(t *testing.T) {
	_, srv := start(t, Options{})
	call(t, srv, "PUT", "/tw", `{"mappings":{"properties":{"n":{"type":"long"},"k":{"type":"keyword"}}}}`)
	call(t, srv, "POST", "/tw/_bulk?refresh=true", "{\"index\":{\"_id\":\"a\"}}\n{\"n\":2,\"k\":\"b\"}\n{\"index\":{\"_id\":\"b\"}}\n{\"k\":\"a\"}\n{\"index\":{\"_id\":\"c\"}}\n{\"n\":10,\"k\":\"c\"}\n")
	for _, tc := range []struct{ sort, want string }{
		{`[{"n":"asc"}]`, "a c b"},
		{`[{"n":{"order":"desc"}}]`, "c a b"},
		{`["k"]`, "b a c"},
		{`{"k":"desc"}`, "c a b"},
	} {
		st, body, _ := call(t, srv, "POST", "/tw/_search", `{"sort":`+tc.sort+`}`)
		if st != 200 {
			t.Fatalf("sort %s = %d %v", tc.sort, st, body)
		}
		var ids []string
		for _, h := range body["hits"].(map[string]any)["hits"].([]any) {
			ids = append(ids, h.(map[string]any)["_id"].(string))
		}
		if strings.Join(ids, " ") != tc.want {
			t.Errorf("sort %s: %v, want %s", tc.sort, ids, tc.want)
		}
	}
	if st, body, _ := call(t, srv, "POST", "/tw/_search", `{"sort":["nope"]}`); st != 400 || !strings.Contains(fmt.Sprint(body), "No mapping found for [nope]") {
		t.Errorf("unmapped sort = %d %v", st, body)
	}
}
