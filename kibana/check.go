package kibana

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// Check verifies an NDJSON saved-objects file structurally, as far as it
// can be checked without a Kibana: every line is an object with type, id
// and attributes; ids are unique; every reference resolves to an object in
// the file; visState, searchSourceJSON, panelsJSON and optionsJSON parse;
// every searchSource and panel names a reference it has; and every field
// a visualization, query or data view uses exists in fields (name → type,
// from elastic.MappedFields), with a numeric type where it is averaged and
// a date type for the time field. Errors name the line.
func Check(ndjson []byte, fields map[string]string) error {
	var objs []Object
	sc := bufio.NewScanner(bytes.NewReader(ndjson))
	sc.Buffer(nil, 16<<20)
	line := 0
	byKey := map[string]bool{}
	for sc.Scan() {
		line++
		if len(bytes.TrimSpace(sc.Bytes())) == 0 {
			continue
		}
		var o Object
		dec := json.NewDecoder(bytes.NewReader(sc.Bytes()))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&o); err != nil {
			return fmt.Errorf("line %d: %w", line, err)
		}
		if o.Type == "" || o.ID == "" || o.Attributes == nil {
			return fmt.Errorf("line %d: missing type, id or attributes", line)
		}
		want, ok := TypeMigrationVersion(o.Type)
		if !ok {
			return fmt.Errorf("line %d: saved-object type %q is not one this package writes", line, o.Type)
		}
		if o.TypeMigrationVersion != want || o.CoreMigrationVersion != CoreMigrationVersion {
			return fmt.Errorf("line %d (%s %s): typeMigrationVersion %q, coreMigrationVersion %q: want %q and %q (the format it is written in; without them Kibana 8.19 falls back to the legacy migrationVersion)", line, o.Type, o.ID, o.TypeMigrationVersion, o.CoreMigrationVersion, want, CoreMigrationVersion)
		}
		key := o.Type + "/" + o.ID
		if byKey[key] {
			return fmt.Errorf("line %d: duplicate object %s", line, key)
		}
		byKey[key] = true
		objs = append(objs, o)
	}
	if err := sc.Err(); err != nil {
		return err
	}
	if len(objs) == 0 {
		return fmt.Errorf("no saved objects")
	}
	for i, o := range objs {
		if err := checkObject(o, byKey, fields); err != nil {
			return fmt.Errorf("line %d (%s %s): %w", i+1, o.Type, o.ID, err)
		}
	}
	return nil
}

var numeric = map[string]bool{"float": true, "double": true, "long": true, "integer": true, "short": true, "byte": true, "half_float": true, "scaled_float": true}

func checkObject(o Object, byKey map[string]bool, fields map[string]string) error {
	refs := map[string]Reference{}
	for _, r := range o.References {
		if !byKey[r.Type+"/"+r.ID] {
			return fmt.Errorf("reference %s → %s %s: no such object in the file", r.Name, r.Type, r.ID)
		}
		refs[r.Name] = r
	}
	str := func(k string) (string, error) { return stringAttr(o, k) }
	if _, err := str("title"); err != nil {
		return err
	}
	switch o.Type {
	case "index-pattern":
		tf, err := str("timeFieldName")
		if err != nil {
			return err
		}
		if fields[tf] != "date" {
			return fmt.Errorf("time field %q is %q in the mapping, want date", tf, fields[tf])
		}
		// Field labels and formats, when given, are JSON objects keyed by
		// fields of the mapping.
		for _, k := range []string{"fieldAttrs", "fieldFormatMap"} {
			if _, ok := o.Attributes[k]; !ok {
				continue
			}
			var byField map[string]map[string]any
			if err := jsonAttr(o, k, &byField); err != nil {
				return err
			}
			for f := range byField {
				if _, ok := fields[f]; !ok {
					return fmt.Errorf("%s: field %q is not in the mapping", k, f)
				}
			}
		}
	case "visualization":
		var state struct {
			Title  string         `json:"title"`
			Type   string         `json:"type"`
			Params map[string]any `json:"params"`
			Aggs   []struct {
				ID     string         `json:"id"`
				Type   string         `json:"type"`
				Schema string         `json:"schema"`
				Params map[string]any `json:"params"`
			} `json:"aggs"`
		}
		if err := sourceAndJSON(o, refs, fields, "visState", &state); err != nil {
			return err
		}
		if state.Type == "" || len(state.Aggs) == 0 {
			return fmt.Errorf("visState: no type or no aggs")
		}
		for _, a := range state.Aggs {
			f, _ := a.Params["field"].(string)
			switch a.Type {
			case "count":
				if f != "" {
					return fmt.Errorf("agg %s: count takes no field", a.ID)
				}
			case "avg", "sum", "min", "max":
				if !numeric[fields[f]] {
					return fmt.Errorf("agg %s: %s of %q, which is %q in the mapping (want a number)", a.ID, a.Type, f, fields[f])
				}
			case "date_histogram":
				if fields[f] != "date" {
					return fmt.Errorf("agg %s: date_histogram on %q, which is %q in the mapping", a.ID, f, fields[f])
				}
			case "terms":
				if t := fields[f]; t != "keyword" && t != "boolean" && !numeric[t] {
					return fmt.Errorf("agg %s: terms on %q, which is %q in the mapping", a.ID, f, t)
				}
			case "filters":
				// Each bucket is a KQL query: its fields must be mapped.
				list, _ := a.Params["filters"].([]any)
				if len(list) == 0 {
					return fmt.Errorf("agg %s: filters without filters", a.ID)
				}
				for i, e := range list {
					in, _ := e.(map[string]any)["input"].(map[string]any)
					q, _ := in["query"].(string)
					if q == "" {
						return fmt.Errorf("agg %s: filter %d has no query", a.ID, i)
					}
					if err := kqlFields(q, fields); err != nil {
						return fmt.Errorf("agg %s: filter %d: %w", a.ID, i, err)
					}
				}
			default:
				return fmt.Errorf("agg %s: type %q not checked by this tool", a.ID, a.Type)
			}
		}
	case "dashboard":
		var panels []struct {
			PanelIndex   string         `json:"panelIndex"`
			PanelRefName string         `json:"panelRefName"`
			GridData     map[string]any `json:"gridData"`
		}
		if err := sourceAndJSON(o, refs, fields, "panelsJSON", &panels); err != nil {
			return err
		}
		if len(panels) == 0 {
			return fmt.Errorf("panelsJSON: no panels")
		}
		seen := map[string]bool{}
		for _, p := range panels {
			if _, ok := refs[p.PanelRefName]; !ok {
				return fmt.Errorf("panel %s: panelRefName %q is not a reference", p.PanelIndex, p.PanelRefName)
			}
			if seen[p.PanelIndex] || p.GridData["i"] != p.PanelIndex {
				return fmt.Errorf("panel %s: duplicate panelIndex or gridData.i differs", p.PanelIndex)
			}
			seen[p.PanelIndex] = true
		}
		if oj, err := str("optionsJSON"); err != nil || !json.Valid([]byte(oj)) {
			return fmt.Errorf("optionsJSON: missing or not JSON")
		}
	default:
		return fmt.Errorf("type %q not checked by this tool", o.Type)
	}
	return nil
}

// kqlField matches the "field : value" terms of the simple KQL queries the
// generator writes.
var kqlField = regexp.MustCompile(`([A-Za-z_][A-Za-z0-9_.]*)\s*:`)

func checkSearchSource(o Object, refs map[string]Reference, fields map[string]string) error {
	meta, _ := o.Attributes["kibanaSavedObjectMeta"].(map[string]any)
	ss, _ := meta["searchSourceJSON"].(string)
	var src struct {
		Query struct {
			Query    string `json:"query"`
			Language string `json:"language"`
		} `json:"query"`
		Filter       []any  `json:"filter"`
		IndexRefName string `json:"indexRefName"`
	}
	if err := json.Unmarshal([]byte(ss), &src); err != nil {
		return fmt.Errorf("searchSourceJSON: %w", err)
	}
	if src.IndexRefName != "" {
		r, ok := refs[src.IndexRefName]
		if !ok || r.Type != "index-pattern" {
			return fmt.Errorf("searchSourceJSON.indexRefName %q is not an index-pattern reference", src.IndexRefName)
		}
	} else if o.Type == "visualization" {
		return fmt.Errorf("searchSourceJSON has no indexRefName")
	}
	return kqlFields(src.Query.Query, fields)
}

// kqlFields checks that the fields a KQL query names are mapped.
func kqlFields(query string, fields map[string]string) error {
	for _, m := range kqlField.FindAllStringSubmatch(query, -1) {
		if _, ok := fields[strings.TrimSpace(m[1])]; !ok {
			return fmt.Errorf("query %q: field %q is not in the mapping", query, m[1])
		}
	}
	return nil
}

// stringAttr is a string attribute of o.
func stringAttr(o Object, k string) (string, error) {
	v, ok := o.Attributes[k].(string)
	if !ok {
		return "", fmt.Errorf("attribute %s: missing or not a string", k)
	}
	return v, nil
}

// jsonAttr decodes the JSON held in the string attribute k of o into v.
func jsonAttr(o Object, k string, v any) error {
	s, err := stringAttr(o, k)
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		return fmt.Errorf("%s: %w", k, err)
	}
	return nil
}

// sourceAndJSON checks o's search source, then decodes its JSON attribute
// k (visState, panelsJSON) into v: the first steps of a visualization's
// and a dashboard's checks.
func sourceAndJSON(o Object, refs map[string]Reference, fields map[string]string, k string, v any) error {
	if err := checkSearchSource(o, refs, fields); err != nil {
		return err
	}
	return jsonAttr(o, k, v)
}
