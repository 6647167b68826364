package esfake

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// sortKey is one entry of a search's sort (sort-search-results.html).
type sortKey struct {
	field string
	desc  bool
	// kind says how values compare and what a hit's sort value is: "date"
	// (epoch milliseconds, as Elasticsearch returns them), "number",
	// "string", or "_shard_doc" / "_doc" (the document's place in the
	// index: here its sequence number, unique and stable within a point in
	// time).
	kind string
}

// parseSort reads the sort option: "field", {"field": "asc"|"desc"} or
// {"field": {"order": ...}}, in a list or alone. With a point in time,
// Elasticsearch adds the _shard_doc tiebreaker when the sort lacks it
// (paginate-search-results.html#search-after: every search with a PIT
// gets that implicit tiebreaker, and its value is in each hit's sort).
func parseSort(ix *index, sort any, withPIT bool) ([]sortKey, *esError) {
	if sort == nil {
		return nil, nil
	}
	list, ok := sort.([]any)
	if !ok {
		list = []any{sort}
	}
	var keys []sortKey
	for _, e := range list {
		var k sortKey
		switch x := e.(type) {
		case string:
			k.field = x
		case map[string]any:
			if len(x) != 1 {
				return nil, errf(400, "parsing_exception", "esfake: a sort entry names one field, got %v", x)
			}
			for f, o := range x {
				k.field = f
				order := o
				if m, ok := o.(map[string]any); ok {
					for opt := range m {
						if opt != "order" {
							return nil, errf(400, "parsing_exception", "esfake: sort option [%s] is not emulated", opt)
						}
					}
					order = m["order"]
				}
				switch order {
				case "asc", nil:
				case "desc":
					k.desc = true
				default:
					return nil, errf(400, "illegal_argument_exception", "Unknown SortOrder [%v]", order)
				}
			}
		default:
			return nil, errf(400, "parsing_exception", "esfake: malformed sort entry %v", e)
		}
		switch {
		case k.field == "_shard_doc" || k.field == "_doc":
			k.kind = k.field
		case k.field == "_score":
			return nil, errf(400, "illegal_argument_exception", "esfake: sort on _score is not emulated (the fake does not score)")
		default:
			switch pathType(ix.mappings, k.field) {
			case "date", "date_nanos":
				k.kind = "date"
			case "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float":
				k.kind = "number"
			case "keyword":
				k.kind = "string"
			case "":
				return nil, errf(400, "query_shard_exception", "No mapping found for [%s] in order to sort on", k.field)
			default:
				return nil, errf(400, "illegal_argument_exception", "esfake: sort on a field of type [%s] is not emulated", pathType(ix.mappings, k.field))
			}
		}
		keys = append(keys, k)
	}
	if withPIT && !slices.ContainsFunc(keys, func(k sortKey) bool { return k.kind == "_shard_doc" }) {
		keys = append(keys, sortKey{field: "_shard_doc", kind: "_shard_doc"})
	}
	return keys, nil
}

// pathType is the mapping type of a dotted field path, "" when unmapped.
func pathType(mappings map[string]any, field string) string {
	props, _ := mappings["properties"].(map[string]any)
	parts := strings.Split(field, ".")
	for i, p := range parts {
		def, _ := props[p].(map[string]any)
		if def == nil {
			return ""
		}
		if i == len(parts)-1 {
			return fieldType(def)
		}
		props, _ = def["properties"].(map[string]any)
	}
	return ""
}

// sortValues are a document's values for keys, as a hit's "sort" array
// shows them: nil where the document has no value (sorted last, the
// default "missing": "_last"); for a multi-valued field the minimum in an
// ascending sort and the maximum in a descending one (the default modes).
func (s *Server) sortValues(ix *index, d *doc, keys []sortKey) ([]any, *esError) {
	out := make([]any, len(keys))
	for i, k := range keys {
		if k.kind == "_shard_doc" || k.kind == "_doc" {
			out[i] = d.seqNo
			continue
		}
		vals, err := s.values(ix, d, k.field)
		if err != nil {
			return nil, err
		}
		var best any
		for _, v := range vals {
			cv, err := sortValue(k, v)
			if err != nil {
				return nil, err
			}
			if best == nil || (compareSortValue(k, cv, best) < 0) != k.desc {
				best = cv
			}
		}
		out[i] = best
	}
	return out, nil
}

// sortValue converts a stored or search_after value to the key's kind:
// int64 epoch milliseconds for a date, float64 for a number, a string.
func sortValue(k sortKey, v any) (any, *esError) {
	switch k.kind {
	case "date":
		s := fmt.Sprint(v)
		if ms, err := strconv.ParseInt(s, 10, 64); err == nil {
			return ms, nil
		}
		t, err := parseDate(s)
		if err != nil {
			return nil, errf(400, "parse_exception", "failed to parse date field [%s] of [%s]", s, k.field)
		}
		return t.UnixMilli(), nil
	case "number":
		f, err := strconv.ParseFloat(fmt.Sprint(v), 64)
		if err != nil {
			return nil, errf(400, "number_format_exception", "For input string: \"%v\"", v)
		}
		return f, nil
	case "_shard_doc", "_doc":
		n, err := strconv.ParseInt(fmt.Sprint(v), 10, 64)
		if err != nil {
			return nil, errf(400, "illegal_argument_exception", "search_after value [%v] of [%s] is not a long", v, k.field)
		}
		return n, nil
	}
	if s, ok := v.(string); ok {
		return s, nil
	}
	return fmt.Sprint(v), nil
}

// compareSortValue orders two converted values of one key, ascending; nil
// (no value) after every value.
func compareSortValue(k sortKey, a, b any) int {
	switch {
	case a == nil && b == nil:
		return 0
	case a == nil:
		return 1
	case b == nil:
		return -1
	}
	switch x := a.(type) {
	case int64:
		return cmpOrdered(x, b.(int64))
	case float64:
		return cmpOrdered(x, b.(float64))
	}
	return strings.Compare(a.(string), b.(string))
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// compareSorted orders two documents' sort values by keys; missing values
// sort last in either direction.
func compareSorted(keys []sortKey, a, b []any) int {
	for i, k := range keys {
		c := compareSortValue(k, a[i], b[i])
		if k.desc && a[i] != nil && b[i] != nil {
			c = -c
		}
		if c != 0 {
			return c
		}
	}
	return 0
}

// searchAfter converts a request's search_after to sort values: one per
// sort key, the implicit tiebreaker included.
func searchAfter(keys []sortKey, after []any) ([]any, *esError) {
	if len(keys) == 0 {
		return nil, errf(400, "illegal_argument_exception", "Cannot use [search_after] without sort")
	}
	if len(after) != len(keys) {
		return nil, errf(400, "illegal_argument_exception", "search_after has %d value(s) but sort has %d.", len(after), len(keys))
	}
	out := make([]any, len(keys))
	for i, k := range keys {
		if after[i] == nil {
			continue
		}
		v := after[i]
		if n, ok := v.(json.Number); ok {
			v = n.String()
		}
		cv, err := sortValue(k, v)
		if err != nil {
			return nil, err
		}
		out[i] = cv
	}
	return out, nil
}
