package validate

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"
)

// strictDecode decodes a YAML document into out (a pointer to a struct with json tags), as
// the API server's strict field validation would: duplicate keys and unknown fields are
// errors. Unknown fields are reported with their full path (spec.filter.atributes), which
// encoding/json's own DisallowUnknownFields error does not give.
func strictDecode(raw []byte, out any) (unknown []string, err error) {
	js, err := yaml.YAMLToJSONStrict(raw)
	if err != nil {
		return nil, err
	}
	var generic any
	if err := json.Unmarshal(js, &generic); err != nil {
		return nil, err
	}
	unknown = unknownFields(generic, reflect.TypeOf(out), "")
	sort.Strings(unknown)
	if len(unknown) > 0 {
		return unknown, nil
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.DisallowUnknownFields()
	if err := dec.Decode(out); err != nil {
		return nil, err
	}
	return nil, nil
}

var jsonUnmarshaler = reflect.TypeFor[json.Unmarshaler]()

// unknownFields walks a decoded JSON value alongside the Go type it is meant for and returns
// the paths of the object keys that type has no field for.
func unknownFields(v any, t reflect.Type, path string) []string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	// A type with its own decoding (metav1.Time, resource.Quantity, apis.URL, intstr...) decides
	// for itself what it accepts; the json decoder reports its errors.
	if t.Implements(jsonUnmarshaler) || reflect.PointerTo(t).Implements(jsonUnmarshaler) {
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil // a type mismatch: the json decoder names it
		}
		fields := map[string]reflect.Type{}
		collectFields(t, fields)
		var out []string
		for key, val := range obj {
			ft, ok := fields[key]
			if !ok {
				out = append(out, join(path, key))
				continue
			}
			out = append(out, unknownFields(val, ft, join(path, key))...)
		}
		return out
	case reflect.Slice, reflect.Array:
		arr, ok := v.([]any)
		if !ok {
			return nil
		}
		var out []string
		for i, el := range arr {
			out = append(out, unknownFields(el, t.Elem(), path+"["+strconv.Itoa(i)+"]")...)
		}
		return out
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		var out []string
		for key, val := range obj {
			out = append(out, unknownFields(val, t.Elem(), join(path, key))...)
		}
		return out
	}
	return nil
}

// collectFields maps a struct's JSON field names to their types, flattening embedded structs
// and ",inline" fields as encoding/json and the Kubernetes conventions do.
func collectFields(t reflect.Type, fields map[string]reflect.Type) {
	for i := range t.NumField() {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, opts, _ := strings.Cut(tag, ",")
		ft := f.Type
		for ft.Kind() == reflect.Pointer {
			ft = ft.Elem()
		}
		if name == "" && (f.Anonymous || strings.Contains(opts, "inline")) && ft.Kind() == reflect.Struct {
			collectFields(ft, fields)
			continue
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		fields[name] = f.Type
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// decodeProblems turns strictDecode's result into problems naming the fields.
func decodeProblems(d Document, unknown []string, err error) []Problem {
	var out []Problem
	for _, f := range unknown {
		out = append(out, d.problem(f, "unknown field (not in the %s schema)", d.Kind))
	}
	if err != nil {
		out = append(out, d.problem("", "%s", fmt.Sprint(err)))
	}
	return out
}
