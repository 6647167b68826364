package esfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// searchRequest is the subset of the search request body the fake
// understands (search-search.html#search-search-api-request-body). Unknown
// keys are refused rather than ignored.
type searchRequest struct {
	Query          map[string]any `json:"query"`
	Size           *int           `json:"size"`
	From           int            `json:"from"`
	Fields         []any          `json:"fields"`
	Source         any            `json:"_source"`
	TrackTotalHits any            `json:"track_total_hits"`
	Sort           any            `json:"sort"`
	SearchAfter    []any          `json:"search_after"`
	PIT            *pitRef        `json:"pit"`
}

// search handles /{index}/_search, and /_search with a point in time
// (point-in-time-api.html): hits as of the last refresh or of the PIT, in
// the order of sort (sort-search-results.html; each hit then has its
// "sort" values) or else in _id order (the fake has no scoring; every hit
// scores 1.0), after search_after's values when given
// (paginate-search-results.html#search-after), with the real envelope
// (took, timed_out, _shards, hits.total {value, relation}, max_score,
// hits[] {_index, _id, _score, _source, fields, sort}, and pit_id with a
// PIT).
func (s *Server) search(name string, body []byte, q url.Values) (any, int, *esError) {
	var req searchRequest
	if len(body) > 0 {
		if err := strictDecode(body, &req); err != nil {
			return nil, 0, err
		}
	}
	if v := q.Get("size"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			return nil, 0, errf(400, "illegal_argument_exception", "Failed to parse int parameter [size] with value [%s]", v)
		}
		req.Size = &n
	}
	size := 10
	if req.Size != nil {
		size = *req.Size
	}
	if size < 0 || req.From < 0 {
		return nil, 0, errf(400, "illegal_argument_exception", "[from] and [size] must be non-negative")
	}
	if req.From+size > 10000 {
		// index-modules.html#index-max-result-window.
		return nil, 0, errf(400, "illegal_argument_exception", "Result window is too large, from + size must be less than or equal to: [10000] but was [%d].", req.From+size)
	}
	if req.SearchAfter != nil && req.From > 0 {
		return nil, 0, errf(400, "illegal_argument_exception", "[from] parameter must be set to 0 when [search_after] is used")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var ix *index
	var docs map[string]*doc
	switch {
	case req.PIT != nil && name != "":
		return nil, 0, errf(400, "action_request_validation_exception", "Validation Failed: 1: [indices] cannot be used with point in time. Do not specify any index with point in time.;")
	case req.PIT != nil:
		p, err := s.usePIT(req.PIT)
		if err != nil {
			return nil, 0, err
		}
		ix, docs = p.ix, p.docs
	case name == "":
		return nil, 0, errf(400, "illegal_argument_exception", "esfake: a search of every index is not emulated (name an index or give a pit)")
	default:
		if ix = s.indices[name]; ix == nil {
			return nil, 0, indexNotFound(name)
		}
		docs = ix.searchable
	}
	ids, err := s.matching(ix, docs, req.Query)
	if err != nil {
		return nil, 0, err
	}
	keys, err := parseSort(ix, req.Sort, req.PIT != nil)
	if err != nil {
		return nil, 0, err
	}
	total := len(ids)
	var sortVals map[string][]any
	if keys != nil {
		if sortVals, ids, err = s.sorted(ix, docs, ids, keys, req.SearchAfter); err != nil {
			return nil, 0, err
		}
	} else if req.SearchAfter != nil {
		return nil, 0, errf(400, "illegal_argument_exception", "Cannot use [search_after] without sort")
	}
	wantSource := true
	if b, ok := req.Source.(bool); ok {
		wantSource = b
	}
	hits := []any{}
	for i := req.From; i < len(ids) && i < req.From+size; i++ {
		d := docs[ids[i]]
		h := map[string]any{"_index": ix.name, "_id": ids[i], "_score": 1.0}
		if keys != nil {
			// A sorted search does not score (sort-search-results.html).
			h["_score"] = nil
			h["sort"] = sortVals[ids[i]]
		}
		if wantSource {
			h["_source"] = deepCopy(d.source)
		}
		if len(req.Fields) > 0 {
			f, err := s.fieldValues(ix, d, req.Fields)
			if err != nil {
				return nil, 0, err
			}
			if len(f) > 0 {
				h["fields"] = f
			}
		}
		hits = append(hits, h)
	}
	var maxScore any
	if len(ids) > 0 && keys == nil {
		maxScore = 1.0
	}
	resp := map[string]any{
		"took":      0,
		"timed_out": false,
		"_shards":   map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0},
		"hits": map[string]any{
			"total":     map[string]any{"value": total, "relation": "eq"},
			"max_score": maxScore,
			"hits":      hits,
		},
	}
	if req.PIT != nil {
		resp["pit_id"] = req.PIT.ID
	}
	return resp, 200, nil
}

// sorted orders ids by keys and drops those at or before after (when
// given); it returns each id's sort values too.
func (s *Server) sorted(ix *index, docs map[string]*doc, ids []string, keys []sortKey, after []any) (map[string][]any, []string, *esError) {
	vals := make(map[string][]any, len(ids))
	for _, id := range ids {
		v, err := s.sortValues(ix, docs[id], keys)
		if err != nil {
			return nil, nil, err
		}
		vals[id] = v
	}
	out := slices.Clone(ids)
	slices.SortStableFunc(out, func(a, b string) int { return compareSorted(keys, vals[a], vals[b]) })
	if after != nil {
		av, err := searchAfter(keys, after)
		if err != nil {
			return nil, nil, err
		}
		out = slices.DeleteFunc(out, func(id string) bool { return compareSorted(keys, vals[id], av) <= 0 })
	}
	return vals, out, nil
}

// count handles /{index}/_count (search-count.html).
func (s *Server) count(name string, body []byte) (any, int, *esError) {
	var req struct {
		Query map[string]any `json:"query"`
	}
	if len(body) > 0 {
		if err := strictDecode(body, &req); err != nil {
			return nil, 0, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ids, err := s.matchingIn(name, req.Query)
	if err != nil {
		return nil, 0, err
	}
	return map[string]any{"count": len(ids), "_shards": map[string]any{"total": 1, "successful": 1, "skipped": 0, "failed": 0}}, 200, nil
}

func strictDecode(body []byte, v any) *esError {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.UseNumber()
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return errf(400, "parsing_exception", "esfake: unsupported or malformed search request: %v", err)
	}
	return nil
}

// matchingIn resolves index name and the ids query matches in it, for
// search and count alike; the caller holds s.mu.
func (s *Server) matchingIn(name string, query map[string]any) (*index, []string, *esError) {
	ix := s.indices[name]
	if ix == nil {
		return nil, nil, indexNotFound(name)
	}
	ids, err := s.matching(ix, ix.searchable, query)
	return ix, ids, err
}

// matching returns the sorted ids of docs (an index's searchable documents
// or a point in time's) that match query.
func (s *Server) matching(ix *index, docs map[string]*doc, query map[string]any) ([]string, *esError) {
	var ids []string
	for _, id := range slices.Sorted(maps.Keys(docs)) {
		ok, err := s.match(ix, id, docs[id], query)
		if err != nil {
			return nil, err
		}
		if ok {
			ids = append(ids, id)
		}
	}
	return ids, nil
}

// match evaluates the query DSL subset the fake supports
// (query-dsl.html): match_all, ids, term, terms, exists, range and bool
// (must, filter, should, must_not). Term-level queries compare exact values
// (query-dsl-term-query.html), so they are meant for keyword, numeric,
// boolean and runtime fields; "text.keyword"-style multi-fields resolve to
// their parent's value.
func (s *Server) match(ix *index, id string, d *doc, q map[string]any) (bool, *esError) {
	if len(q) == 0 {
		return true, nil
	}
	if len(q) != 1 {
		return false, errf(400, "parsing_exception", "[_na] query malformed, no start_object after query name")
	}
	for kind, body := range q {
		b, _ := body.(map[string]any)
		switch kind {
		case "match_all":
			return true, nil
		case "match_none":
			return false, nil
		case "ids":
			vals, _ := b["values"].([]any)
			for _, v := range vals {
				if fmt.Sprint(v) == id {
					return true, nil
				}
			}
			return false, nil
		case "term", "terms", "exists", "range":
			if kind == "exists" {
				f, _ := b["field"].(string)
				vals, err := s.values(ix, d, f)
				return len(vals) > 0, err
			}
			if len(b) != 1 {
				return false, errf(400, "parsing_exception", "[%s] query doesn't support multiple fields", kind)
			}
			for field, arg := range b {
				vals, err := s.values(ix, d, field)
				if err != nil {
					return false, err
				}
				switch kind {
				case "term":
					if m, ok := arg.(map[string]any); ok {
						arg = m["value"]
					}
					return containsValue(vals, arg), nil
				case "terms":
					list, _ := arg.([]any)
					for _, a := range list {
						if containsValue(vals, a) {
							return true, nil
						}
					}
					return false, nil
				case "range":
					m, _ := arg.(map[string]any)
					return inRange(vals, m), nil
				}
			}
		case "bool":
			for clause, sub := range b {
				var list []any
				switch x := sub.(type) {
				case []any:
					list = x
				case map[string]any:
					list = []any{x}
				}
				switch clause {
				case "must", "filter":
					for _, c := range list {
						cm, _ := c.(map[string]any)
						ok, err := s.match(ix, id, d, cm)
						if err != nil || !ok {
							return false, err
						}
					}
				case "must_not":
					for _, c := range list {
						cm, _ := c.(map[string]any)
						ok, err := s.match(ix, id, d, cm)
						if err != nil || ok {
							return false, err
						}
					}
				case "should":
					some := len(list) == 0
					for _, c := range list {
						cm, _ := c.(map[string]any)
						ok, err := s.match(ix, id, d, cm)
						if err != nil {
							return false, err
						}
						some = some || ok
					}
					if !some {
						return false, nil
					}
				case "minimum_should_match", "boost":
				default:
					return false, errf(400, "parsing_exception", "[bool] query does not support [%s]", clause)
				}
			}
			return true, nil
		}
		return false, errf(400, "parsing_exception", "esfake: query [%s] is not emulated", kind)
	}
	return false, nil
}

func containsValue(vals []any, want any) bool {
	w := fmt.Sprint(want)
	for _, v := range vals {
		if fmt.Sprint(v) == w {
			return true
		}
	}
	return false
}

func inRange(vals []any, m map[string]any) bool {
	for _, v := range vals {
		ok := true
		for op, bound := range m {
			c, comparable := compare(v, bound)
			if !comparable {
				ok = false
				break
			}
			switch op {
			case "gt":
				ok = ok && c > 0
			case "gte":
				ok = ok && c >= 0
			case "lt":
				ok = ok && c < 0
			case "lte":
				ok = ok && c <= 0
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// compare orders numbers numerically, dates by time and other values as
// strings.
func compare(a, b any) (int, bool) {
	as, bs := fmt.Sprint(a), fmt.Sprint(b)
	af, aerr := strconv.ParseFloat(as, 64)
	bf, berr := strconv.ParseFloat(bs, 64)
	if aerr == nil && berr == nil {
		switch {
		case af < bf:
			return -1, true
		case af > bf:
			return 1, true
		}
		return 0, true
	}
	at, aerr := parseDate(as)
	bt, berr := parseDate(bs)
	if aerr == nil && berr == nil {
		return at.Compare(bt), true
	}
	return strings.Compare(as, bs), true
}

// values returns a field's values in a document: a runtime field's
// emitted values, or the _source value at the dotted path.
func (s *Server) values(ix *index, d *doc, field string) ([]any, *esError) {
	if rt, _ := ix.mappings["runtime"].(map[string]any); rt != nil {
		if def, ok := rt[field].(map[string]any); ok {
			return s.runtimeValues(ix, d, field, def)
		}
	}
	v, ok := lookup(d.source, field)
	if !ok {
		// A multi-field (text.keyword) indexes its parent's value.
		if i := strings.LastIndexByte(field, '.'); i > 0 {
			if isMultiField(ix.mappings, field) {
				v, ok = lookup(d.source, field[:i])
			}
		}
	}
	if !ok || v == nil {
		return nil, nil
	}
	if arr, isArr := v.([]any); isArr {
		return arr, nil
	}
	return []any{v}, nil
}

func isMultiField(mappings map[string]any, field string) bool {
	parts := strings.Split(field, ".")
	props, _ := mappings["properties"].(map[string]any)
	for i, p := range parts {
		def, _ := props[p].(map[string]any)
		if def == nil {
			return false
		}
		if i == len(parts)-2 {
			f, _ := def["fields"].(map[string]any)
			_, ok := f[parts[i+1]]
			return ok
		}
		props, _ = def["properties"].(map[string]any)
	}
	return false
}

func lookup(src map[string]any, field string) (any, bool) {
	if v, ok := src[field]; ok {
		return v, true
	}
	cur := src
	parts := strings.Split(field, ".")
	for i, p := range parts {
		v, ok := cur[p]
		if !ok {
			return nil, false
		}
		if i == len(parts)-1 {
			return v, true
		}
		cur, ok = v.(map[string]any)
		if !ok {
			return nil, false
		}
	}
	return nil, false
}

// runtimeValues evaluates a runtime field (runtime.html) through the Go
// emulation registered for its script's exact source.
func (s *Server) runtimeValues(ix *index, d *doc, field string, def map[string]any) ([]any, *esError) {
	script, _ := def["script"].(map[string]any)
	src, _ := script["source"].(string)
	params, _ := script["params"].(map[string]any)
	fn := s.scripts[src]
	if fn == nil {
		return nil, errf(400, "script_exception", "esfake: no emulation registered for the Painless script of runtime field [%s] in index [%s]", field, ix.name)
	}
	vals, err := fn(d.source, params)
	if err != nil {
		return nil, errf(400, "script_exception", "runtime field [%s]: %v", field, err)
	}
	return vals, nil
}

// fieldValues answers the "fields" option of a search
// (search-fields.html#search-fields-param): each requested field's values
// as an array; runtime fields included; wildcards are not emulated.
func (s *Server) fieldValues(ix *index, d *doc, fields []any) (map[string]any, *esError) {
	out := map[string]any{}
	for _, f := range fields {
		name, ok := f.(string)
		if !ok {
			m, _ := f.(map[string]any)
			name, _ = m["field"].(string)
		}
		if name == "" || strings.Contains(name, "*") {
			return nil, errf(400, "illegal_argument_exception", "esfake: fields entry %v is not emulated (give exact field names)", f)
		}
		vals, err := s.values(ix, d, name)
		if err != nil {
			return nil, err
		}
		if len(vals) > 0 {
			out[name] = vals
		}
	}
	return out, nil
}
