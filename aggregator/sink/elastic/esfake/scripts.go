package esfake

import "fmt"

// Go emulations of tweetflow's runtime-field scripts
// (aggregator/sink/elastic: ScriptMissing, ScriptComplete, ScriptPartial).
// Register them with RegisterScript under those exact sources. Each states
// the semantics the Painless source is meant to have; the fake's answers are
// only as right as that reading of the script, which is why it is written
// here, apart from the code under test.

// MissingModels emits each name in params.models for which the document has
// no value at <name>.label (Painless: !doc.containsKey(f) || doc[f].size() == 0).
func MissingModels(source, params map[string]any) ([]any, error) {
	models, err := paramModels(params)
	if err != nil {
		return nil, err
	}
	var out []any
	for _, m := range models {
		if !hasValue(source, m+".label") {
			out = append(out, m)
		}
	}
	return out, nil
}

// CompleteModels emits true when no model of params.models is missing.
func CompleteModels(source, params map[string]any) ([]any, error) {
	miss, err := MissingModels(source, params)
	if err != nil {
		return nil, err
	}
	return []any{len(miss) == 0}, nil
}

// PartialModels emits true when the document's timed_out is true and some
// model is missing.
func PartialModels(source, params map[string]any) ([]any, error) {
	miss, err := MissingModels(source, params)
	if err != nil {
		return nil, err
	}
	timedOut, _ := source["timed_out"].(bool)
	return []any{timedOut && len(miss) > 0}, nil
}

func paramModels(params map[string]any) ([]string, error) {
	raw, ok := params["models"].([]any)
	if !ok {
		return nil, fmt.Errorf("params.models is missing or not a list")
	}
	out := make([]string, 0, len(raw))
	for _, v := range raw {
		s, ok := v.(string)
		if !ok {
			return nil, fmt.Errorf("params.models holds a %T", v)
		}
		out = append(out, s)
	}
	return out, nil
}

// hasValue reports whether the dotted field has a non-null value, as a doc
// value lookup would (an empty array has no value).
func hasValue(source map[string]any, field string) bool {
	v, ok := lookup(source, field)
	if !ok || v == nil {
		return false
	}
	if arr, isArr := v.([]any); isArr {
		return len(arr) > 0
	}
	return true
}
