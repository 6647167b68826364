package esfake

import (
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
)

// index is one index: its mappings, its live documents (what GET and mget
// see: they are realtime, docs-get.html#realtime) and the documents visible
// to search as of the last refresh (near-real-time search,
// near-real-time.html).
type index struct {
	name     string
	mappings map[string]any
	settings map[string]any
	docs     map[string]*doc
	// searchable is what _search and _count see; refresh copies the dirty
	// ids from docs.
	searchable map[string]*doc
	dirty      map[string]struct{}
	seqNo      int64
}

// doc is one stored document version; it is never mutated once stored (a
// write stores a new doc), so refresh can share it.
type doc struct {
	source  map[string]any
	version int64
	seqNo   int64
}

// primaryTerm is fixed: the fake's single primary never fails over.
const primaryTerm = 1

// ValidateIndexName checks an index name against the rules of the create
// index API (indices-create-index.html#indices-create-api-path-params):
// lowercase only; none of \ / * ? " < > | space , # (and : , reserved for
// remote clusters); not starting with - _ +; not . or ..; at most 255 bytes.
func ValidateIndexName(name string) error {
	switch {
	case name == "":
		return fmt.Errorf("must not be empty")
	case name == "." || name == "..":
		return fmt.Errorf("must not be '.' or '..'")
	case len(name) > 255:
		return fmt.Errorf("index name is too long, (%d > 255)", len(name))
	case strings.ToLower(name) != name:
		return fmt.Errorf("must be lowercase")
	case strings.ContainsAny(name[:1], "-_+"):
		return fmt.Errorf("must not start with '_', '-', or '+'")
	}
	if i := strings.IndexAny(name, "\\/*?\"<>| ,#:"); i >= 0 {
		return fmt.Errorf("must not contain the following characters [ , \", *, \\, <, |, ,, >, /, ?, #, :] (found %q)", name[i])
	}
	return nil
}

func invalidIndexName(name string, err error) *esError {
	return &esError{Status: 400, Type: "invalid_index_name_exception", Reason: fmt.Sprintf("Invalid index name [%s], %v", name, err), Index: name}
}

func indexNotFound(name string) *esError {
	return &esError{Status: 404, Type: "index_not_found_exception", Reason: "no such index [" + name + "]", Index: name}
}

// indexOp handles HEAD/GET/PUT/DELETE /{index}.
func (s *Server) indexOp(method, name string, body []byte) (any, int, *esError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch method {
	case http.MethodHead:
		// indices-exists.html: 200 if it exists, 404 otherwise, no body.
		if s.indices[name] == nil {
			return nil, 404, nil
		}
		return nil, 200, nil
	case http.MethodGet:
		ix := s.indices[name]
		if ix == nil {
			return nil, 0, indexNotFound(name)
		}
		return map[string]any{name: map[string]any{"aliases": map[string]any{}, "mappings": ix.mappings, "settings": map[string]any{"index": ix.settings}}}, 200, nil
	case http.MethodPut:
		var req struct {
			Settings map[string]any `json:"settings"`
			Mappings map[string]any `json:"mappings"`
			Aliases  map[string]any `json:"aliases"`
		}
		if len(body) > 0 {
			if err := decodeJSON(body, &req); err != nil {
				return nil, 0, err
			}
		}
		if _, err := s.createIndex(name, req.Settings, req.Mappings); err != nil {
			return nil, 0, err
		}
		// indices-create-index.html: the response.
		return map[string]any{"acknowledged": true, "shards_acknowledged": true, "index": name}, 200, nil
	case http.MethodDelete:
		// indices-delete-index.html: wildcards need
		// action.destructive_requires_name=false, which defaults to true.
		if strings.ContainsAny(name, "*,") || name == "_all" {
			return nil, 0, errf(400, "illegal_argument_exception", "Wildcard expressions or all indices are not allowed")
		}
		if s.indices[name] == nil {
			return nil, 0, indexNotFound(name)
		}
		delete(s.indices, name)
		return map[string]any{"acknowledged": true}, 200, nil
	}
	return nil, 0, errf(405, "illegal_argument_exception", "Incorrect HTTP method for uri [/%s] and method [%s]", name, method)
}

// createIndex creates an index, applying the highest-priority matching
// index template first and the request's mappings over it
// (index-templates.html: "settings and mappings specified in the create
// index request override any specified in the template"). Caller holds mu.
func (s *Server) createIndex(name string, settings, mappings map[string]any) (*index, *esError) {
	if err := ValidateIndexName(name); err != nil {
		return nil, invalidIndexName(name, err)
	}
	if s.indices[name] != nil {
		return nil, &esError{Status: 400, Type: "resource_already_exists_exception", Reason: "index [" + name + "/" + uuidOf(name) + "] already exists", Index: name}
	}
	ix := &index{name: name, mappings: map[string]any{}, settings: map[string]any{}, docs: map[string]*doc{}, searchable: map[string]*doc{}, dirty: map[string]struct{}{}}
	if tpl := s.matchTemplate(name); tpl != nil {
		if t, _ := tpl["template"].(map[string]any); t != nil {
			if m, _ := t["mappings"].(map[string]any); m != nil {
				if err := mergeMappings(ix.mappings, deepCopy(m).(map[string]any)); err != nil {
					return nil, err
				}
			}
			if st, _ := t["settings"].(map[string]any); st != nil {
				maps.Copy(ix.settings, deepCopy(st).(map[string]any))
			}
		}
	}
	if mappings != nil {
		if err := mergeMappings(ix.mappings, deepCopy(mappings).(map[string]any)); err != nil {
			return nil, err
		}
	}
	maps.Copy(ix.settings, settings)
	s.indices[name] = ix
	return ix, nil
}

// matchTemplate returns the matching template with the highest priority
// (index-templates.html). Caller holds mu.
func (s *Server) matchTemplate(name string) map[string]any {
	var best map[string]any
	bestPrio := int64(-1)
	for _, tname := range slices.Sorted(maps.Keys(s.templates)) {
		t := s.templates[tname]
		pats, _ := t["index_patterns"].([]any)
		for _, p := range pats {
			ps, _ := p.(string)
			if ok, _ := path.Match(ps, name); ok {
				prio := int64(0)
				if n, ok := t["priority"].(json.Number); ok {
					prio, _ = n.Int64()
				}
				if prio > bestPrio {
					best, bestPrio = t, prio
				}
			}
		}
	}
	return best
}

// indexTemplate handles /_index_template/{name} (indices-put-template.html,
// indices-get-template.html, indices-delete-template.html).
func (s *Server) indexTemplate(method, name string, body []byte) (any, int, *esError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch method {
	case http.MethodPut, http.MethodPost:
		var t map[string]any
		if err := decodeJSON(body, &t); err != nil {
			return nil, 0, err
		}
		pats, ok := t["index_patterns"].([]any)
		if !ok || len(pats) == 0 {
			if p, isStr := t["index_patterns"].(string); isStr && p != "" {
				t["index_patterns"] = []any{p}
			} else {
				return nil, 0, errf(400, "action_request_validation_exception", "Validation Failed: 1: index patterns are missing;")
			}
		}
		for k := range t {
			switch k {
			case "index_patterns", "template", "priority", "composed_of", "version", "_meta", "data_stream", "allow_auto_create", "ignore_missing_component_templates", "deprecated":
			default:
				return nil, 0, errf(400, "x_content_parse_exception", "[1:2] [index_template] unknown field [%s]", k)
			}
		}
		if tpl, _ := t["template"].(map[string]any); tpl != nil {
			if m, _ := tpl["mappings"].(map[string]any); m != nil {
				// Validate the mappings as an index creation would.
				if err := mergeMappings(map[string]any{}, deepCopy(m).(map[string]any)); err != nil {
					return nil, 0, err
				}
			}
		}
		s.templates[name] = t
		return map[string]any{"acknowledged": true}, 200, nil
	case http.MethodGet, http.MethodHead:
		t := s.templates[name]
		if t == nil {
			if method == http.MethodHead {
				return nil, 404, nil
			}
			return nil, 0, errf(404, "resource_not_found_exception", "index template matching [%s] not found", name)
		}
		return map[string]any{"index_templates": []any{map[string]any{"name": name, "index_template": t}}}, 200, nil
	case http.MethodDelete:
		if s.templates[name] == nil {
			return nil, 0, errf(404, "resource_not_found_exception", "index_template [%s] missing", name)
		}
		delete(s.templates, name)
		return map[string]any{"acknowledged": true}, 200, nil
	}
	return nil, 0, errf(405, "illegal_argument_exception", "Incorrect HTTP method for uri [/_index_template/%s] and method [%s]", name, method)
}

// mapping handles GET/PUT /{index}/_mapping (indices-get-mapping.html,
// indices-put-mapping.html).
func (s *Server) mapping(method, name string, body []byte) (any, int, *esError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ix := s.indices[name]
	if ix == nil {
		return nil, 0, indexNotFound(name)
	}
	switch method {
	case http.MethodGet:
		return map[string]any{name: map[string]any{"mappings": ix.mappings}}, 200, nil
	case http.MethodPut, http.MethodPost:
		var m map[string]any
		if err := decodeJSON(body, &m); err != nil {
			return nil, 0, err
		}
		// Validate on a copy so that a rejected update changes nothing.
		merged := deepCopy(ix.mappings).(map[string]any)
		if err := mergeMappings(merged, m); err != nil {
			return nil, 0, err
		}
		ix.mappings = merged
		return map[string]any{"acknowledged": true}, 200, nil
	}
	return nil, 0, errf(405, "illegal_argument_exception", "Incorrect HTTP method for uri [/%s/_mapping] and method [%s]", name, method)
}

// Field types the fake knows (mapping-types.html). Others are refused so
// that a test never passes on a mapping real Elasticsearch would reject.
var knownTypes = map[string]bool{
	"object": true, "nested": false, "flattened": true,
	"text": true, "keyword": true, "match_only_text": true, "wildcard": true, "constant_keyword": true,
	"date": true, "date_nanos": true, "boolean": true,
	"long": true, "integer": true, "short": true, "byte": true, "double": true, "float": true, "half_float": true, "scaled_float": true, "unsigned_long": true,
	"ip": true,
}

var runtimeTypes = map[string]bool{"boolean": true, "keyword": true, "long": true, "double": true, "date": true, "ip": true, "geo_point": true, "composite": true, "lookup": true}

// mergeMappings merges update into dst following the put-mapping rules
// (indices-put-mapping.html#updating-field-mappings): new fields are added;
// an existing field's type cannot change; objects merge recursively; the
// dynamic setting and _meta are replaced; runtime fields are added or
// replaced, and removed with null (runtime-mapping-fields.html#runtime-updating-scripts).
func mergeMappings(dst, update map[string]any) *esError {
	for k, v := range update {
		switch k {
		case "properties":
			props, ok := v.(map[string]any)
			if !ok {
				return errf(400, "mapper_parsing_exception", "Expected map for property [properties] but got a %T", v)
			}
			dp := child(dst, "properties")
			if err := mergeProperties("", dp, props); err != nil {
				return err
			}
		case "runtime":
			rt, ok := v.(map[string]any)
			if !ok {
				return errf(400, "mapper_parsing_exception", "Expected map for property [runtime] but got a %T", v)
			}
			drt := child(dst, "runtime")
			for name, def := range rt {
				if def == nil {
					delete(drt, name)
					continue
				}
				d, ok := def.(map[string]any)
				if !ok {
					return errf(400, "mapper_parsing_exception", "Expected map for runtime field [%s] definition but got a %T", name, def)
				}
				typ, _ := d["type"].(string)
				if !runtimeTypes[typ] {
					return errf(400, "mapper_parsing_exception", "No handler for type [%s] declared on runtime field [%s]", typ, name)
				}
				drt[name] = d
			}
		case "dynamic":
			switch fmt.Sprint(v) {
			case "true", "false", "strict", "runtime":
				dst[k] = v
			default:
				return errf(400, "mapper_parsing_exception", "Could not convert [dynamic] to boolean")
			}
		case "_meta", "_source", "_routing", "dynamic_templates", "date_detection", "numeric_detection", "dynamic_date_formats", "_data_stream_timestamp":
			dst[k] = v
		default:
			return errf(400, "mapper_parsing_exception", "Root mapping definition has unsupported parameters:  [%s : %v]", k, v)
		}
	}
	return nil
}

// child returns the object m[key], first setting an empty one when m has none.
func child(m map[string]any, key string) map[string]any {
	c, _ := m[key].(map[string]any)
	if c == nil {
		c = map[string]any{}
		m[key] = c
	}
	return c
}

func fieldType(def map[string]any) string {
	if t, ok := def["type"].(string); ok {
		return t
	}
	if _, ok := def["properties"]; ok {
		return "object"
	}
	return "object"
}

func mergeProperties(prefix string, dst, update map[string]any) *esError {
	for name, v := range update {
		full := prefix + name
		def, ok := v.(map[string]any)
		if !ok {
			return errf(400, "mapper_parsing_exception", "Expected map for property [fields] on field [%s] but got a %T", full, v)
		}
		typ := fieldType(def)
		if !knownTypes[typ] {
			return errf(400, "mapper_parsing_exception", "No handler for type [%s] declared on field [%s]", typ, full)
		}
		old, exists := dst[name].(map[string]any)
		if !exists {
			nd := deepCopy(def).(map[string]any)
			if typ == "object" {
				props, _ := nd["properties"].(map[string]any)
				checked := map[string]any{}
				if err := mergeProperties(full+".", checked, props); err != nil {
					return err
				}
				if len(props) > 0 {
					nd["properties"] = checked
				}
			}
			dst[name] = nd
			continue
		}
		oldType := fieldType(old)
		if oldType != typ {
			if oldType == "object" || typ == "object" {
				return errf(400, "illegal_argument_exception", "can't merge a non object mapping [%s] with an object mapping", full)
			}
			return errf(400, "illegal_argument_exception", "mapper [%s] cannot be changed from type [%s] to [%s]", full, oldType, typ)
		}
		if typ == "object" {
			op := child(old, "properties")
			np, _ := def["properties"].(map[string]any)
			if err := mergeProperties(full+".", op, np); err != nil {
				return err
			}
			if d, ok := def["dynamic"]; ok {
				old["dynamic"] = d
			}
			continue
		}
		// Same type: multi-fields may be added (indices-put-mapping.html#add-multi-fields-existing-field).
		if f, ok := def["fields"].(map[string]any); ok {
			of := child(old, "fields")
			if err := mergeProperties(full+".", of, f); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkSource validates a document against the mappings as indexing would,
// and adds dynamic mappings for new fields when dynamic allows it
// (dynamic.html: true adds fields, runtime adds runtime fields, false
// ignores them, strict rejects the document). Caller holds mu.
func (ix *index) checkSource(id string, src map[string]any) *esError {
	root := ix.mappings
	dyn := "true"
	if d, ok := root["dynamic"]; ok {
		dyn = fmt.Sprint(d)
	}
	props := child(root, "properties")
	return checkObject(id, "", "_doc", props, dyn, src)
}

func checkObject(id, prefix, parent string, props map[string]any, dyn string, obj map[string]any) *esError {
	for _, k := range slices.Sorted(maps.Keys(obj)) {
		v := obj[k]
		full := prefix + k
		def, ok := props[k].(map[string]any)
		if !ok {
			switch dyn {
			case "strict":
				// dynamic.html#dynamic-parameters.
				return &esError{Status: 400, Type: "strict_dynamic_mapping_exception", Reason: fmt.Sprintf("[1:2] mapping set to strict, dynamic introduction of [%s] within [%s] is not allowed", k, parent)}
			case "false", "runtime":
				continue
			}
			def = dynamicMapping(v)
			if def == nil {
				continue
			}
			props[k] = def
		}
		if err := checkValue(id, full, def, dyn, v); err != nil {
			return err
		}
	}
	return nil
}

// dynamicMapping is the field mapping dynamic: true gives a new value
// (dynamic-field-mapping.html): strings become text with a keyword
// subfield (dates are detected), numbers long or float, objects objects.
func dynamicMapping(v any) map[string]any {
	switch x := v.(type) {
	case nil:
		return nil
	case bool:
		return map[string]any{"type": "boolean"}
	case json.Number:
		if _, err := x.Int64(); err == nil {
			return map[string]any{"type": "long"}
		}
		return map[string]any{"type": "float"}
	case string:
		if _, err := parseDate(x); err == nil {
			return map[string]any{"type": "date"}
		}
		return map[string]any{"type": "text", "fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": json.Number("256")}}}
	case map[string]any:
		return map[string]any{"properties": map[string]any{}}
	case []any:
		for _, e := range x {
			if m := dynamicMapping(e); m != nil {
				return m
			}
		}
	}
	return nil
}

func parsingError(id, field, typ string, v any) *esError {
	preview := fmt.Sprint(v)
	if len(preview) > 20 {
		preview = preview[:20] + "..."
	}
	// mapping.html: a value that cannot be parsed as its field's type
	// rejects the document (document_parsing_exception since 8.9).
	return &esError{Status: 400, Type: "document_parsing_exception", Reason: fmt.Sprintf("[1:2] failed to parse field [%s] of type [%s] in document with id '%s'. Preview of field's value: '%s'", field, typ, id, preview)}
}

func checkValue(id, field string, def map[string]any, dyn string, v any) *esError {
	if v == nil {
		return nil
	}
	if arr, ok := v.([]any); ok {
		for _, e := range arr {
			if err := checkValue(id, field, def, dyn, e); err != nil {
				return err
			}
		}
		return nil
	}
	typ := fieldType(def)
	switch typ {
	case "object":
		obj, ok := v.(map[string]any)
		if !ok {
			return &esError{Status: 400, Type: "document_parsing_exception", Reason: fmt.Sprintf("[1:2] object mapping for [%s] tried to parse field [%s] as object, but found a concrete value", field, field)}
		}
		if d, ok := def["dynamic"]; ok {
			dyn = fmt.Sprint(d)
		}
		props := child(def, "properties")
		return checkObject(id, field+".", field, props, dyn, obj)
	case "flattened":
		if _, ok := v.(map[string]any); !ok {
			return parsingError(id, field, typ, v)
		}
	case "text", "keyword", "match_only_text", "wildcard", "constant_keyword":
		if _, ok := v.(map[string]any); ok {
			return parsingError(id, field, typ, v)
		}
	case "date", "date_nanos":
		switch x := v.(type) {
		case string:
			if _, err := parseDate(x); err != nil {
				return parsingError(id, field, typ, v)
			}
		case json.Number:
			if _, err := x.Int64(); err != nil {
				return parsingError(id, field, typ, v)
			}
		default:
			return parsingError(id, field, typ, v)
		}
	case "boolean":
		switch x := v.(type) {
		case bool:
		case string:
			if x != "true" && x != "false" && x != "" {
				return parsingError(id, field, typ, v)
			}
		default:
			return parsingError(id, field, typ, v)
		}
	case "long", "integer", "short", "byte", "double", "float", "half_float", "scaled_float", "unsigned_long":
		var f float64
		var err error
		switch x := v.(type) {
		case json.Number:
			f, err = x.Float64()
		case string: // coerce (coerce.html): numeric strings are accepted
			f, err = strconv.ParseFloat(x, 64)
		default:
			err = fmt.Errorf("not a number")
		}
		if err != nil {
			return parsingError(id, field, typ, v)
		}
		if lim, ok := intLimits[typ]; ok && (f < lim[0] || f > lim[1]) {
			return parsingError(id, field, typ, v)
		}
	}
	return nil
}

var intLimits = map[string][2]float64{
	"integer": {-2147483648, 2147483647},
	"short":   {-32768, 32767},
	"byte":    {-128, 127},
	"long":    {-9223372036854775808, 9223372036854775807},
}

// parseDate accepts strict_date_optional_time, the default date format
// (mapping-date-format.html), for the forms tweetflow and clients send.
func parseDate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("unparseable date %q", s)
}

func deepCopy(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = deepCopy(e)
		}
		return m
	case []any:
		a := make([]any, len(x))
		for i, e := range x {
			a[i] = deepCopy(e)
		}
		return a
	}
	return v
}

// refresh makes every write visible to search (indices-refresh.html).
func (s *Server) refresh(name string) (any, int, *esError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if name != "" && name != "_all" && s.indices[name] == nil {
		return nil, 0, indexNotFound(name)
	}
	n := 0
	for iname, ix := range s.indices {
		if name == "" || name == "_all" || iname == name {
			ix.refresh()
			n++
		}
	}
	return map[string]any{"_shards": map[string]any{"total": n * 2, "successful": n, "failed": 0}}, 200, nil
}

func (ix *index) refresh() {
	for id := range ix.dirty {
		if d := ix.docs[id]; d != nil {
			ix.searchable[id] = d
		} else {
			delete(ix.searchable, id)
		}
	}
	clear(ix.dirty)
}
