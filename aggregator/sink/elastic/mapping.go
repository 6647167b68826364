package elastic

import (
	"fmt"

	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/model"
)

// Model is what the index needs to know of a model: its Name and
// ValueType (float, integer or keyword). It is the registry's view
// (model.Views), so the mapping, Kibana and the dashboard read one
// derivation of the specs.
type Model = model.View

// CheckModels validates model names and value types.
func CheckModels(models []Model) error {
	seen := map[string]bool{}
	for i, m := range models {
		if !event.ValidModelName(m.Name) {
			return fmt.Errorf("model #%d: invalid name %q", i, m.Name)
		}
		if reserved[m.Name] {
			return fmt.Errorf("model %s: the name is a document field of the index", m.Name)
		}
		if seen[m.Name] {
			return fmt.Errorf("model %s: listed twice", m.Name)
		}
		seen[m.Name] = true
		if _, err := esValueType(m.ValueType); err != nil {
			return fmt.Errorf("model %s: %w", m.Name, err)
		}
	}
	return nil
}

// Document field names. A model's fields are the object <model>
// {value, label, version}.
const (
	FieldTweetID   = "tweet_id"
	FieldTimestamp = "timestamp"
	FieldUser      = "user"
	FieldText      = "text"
	FieldFields    = "fields"
	// The tweet's optional fields (#10), absent from a document when the
	// tweet has none: keyword fields, so a filter or a terms aggregation
	// ("every retweet of X", "top hashtags") needs no text analysis.
	FieldUserID         = "user_id"
	FieldLang           = "lang"
	FieldRetweetOf      = "retweet_of"
	FieldQuoteOf        = "quote_of"
	FieldReplyTo        = "reply_to"
	FieldConversationID = "conversation_id"
	FieldHashtags       = "hashtags"
	FieldURLs           = "urls"
	FieldMentions       = "mentions"
	// FieldTimedOut is set (true) by a write the aggregator made after its
	// join timeout; "partial" is derived from it.
	FieldTimedOut = "timed_out"
	// Derived at query time (runtime fields, see Mappings).
	FieldComplete = "complete"
	FieldMissing  = "missing"
	FieldPartial  = "partial"
)

var reserved = map[string]bool{
	FieldTweetID: true, FieldTimestamp: true, FieldUser: true, FieldText: true, FieldFields: true,
	FieldTimedOut: true, FieldComplete: true, FieldMissing: true, FieldPartial: true,
	FieldUserID: true, FieldLang: true, FieldRetweetOf: true, FieldQuoteOf: true, FieldReplyTo: true,
	FieldConversationID: true, FieldHashtags: true, FieldURLs: true, FieldMentions: true,
}

func esValueType(t string) (string, error) {
	switch t {
	case model.TypeFloat:
		return "float", nil
	case model.TypeInteger:
		return "long", nil
	case model.TypeKeyword:
		return "keyword", nil
	}
	return "", fmt.Errorf("value type %q is not one of float, integer, keyword", t)
}

// Painless sources of the runtime fields. complete, missing and partial are
// derived when queried, from the merged document, so they are right however
// the partial updates of several aggregator replicas interleave: no writer
// has to know what the others wrote. A model counts as present when its
// label has a value (every stored result has a label).
//
// The ES fake cannot run Painless; aggregator/sink/elastic/esfake emulates exactly these
// sources (esfake.TweetflowScripts), and the semantics stated here are what
// that emulation implements:
//   - missing emits each name of params.models whose <name>.label has no value;
//   - complete emits true when missing would emit nothing;
//   - partial emits true when timed_out is true and complete is false.
const (
	ScriptMissing = `for (def m : params.models) { String f = m + '.label'; if (!doc.containsKey(f) || doc[f].size() == 0) { emit(m); } }`

	ScriptComplete = `boolean c = true; for (def m : params.models) { String f = m + '.label'; if (!doc.containsKey(f) || doc[f].size() == 0) { c = false; break; } } emit(c);`

	ScriptPartial = `boolean c = true; for (def m : params.models) { String f = m + '.label'; if (!doc.containsKey(f) || doc[f].size() == 0) { c = false; break; } } emit(!c && doc.containsKey('timed_out') && doc['timed_out'].size() > 0 && doc['timed_out'].value);`
)

// Mappings returns the index mappings for models: the tweet fields, one
// object per model and the runtime fields. dynamic is strict, so a field
// the mapping does not know (a model missing from the registry, a typo) is
// rejected and dead-lettered instead of creating a guessed mapping.
//
// Adding a model only adds fields: PUT _mapping with these mappings on the
// live index adds the model's object and replaces the runtime fields'
// model list, without a reindex.
func Mappings(models []Model) (map[string]any, error) {
	if err := CheckModels(models); err != nil {
		return nil, err
	}
	props := map[string]any{
		FieldTweetID:   map[string]any{"type": "keyword"},
		FieldTimestamp: map[string]any{"type": "date"},
		FieldUser:      map[string]any{"type": "keyword"},
		FieldText: map[string]any{
			"type": "text",
			// ignore_above keeps a huge tweet from failing the keyword
			// (Lucene's term limit is 32766 bytes); the text is still stored.
			"fields": map[string]any{"keyword": map[string]any{"type": "keyword", "ignore_above": 1024}},
		},
		// The producer's extra CSV columns: flattened, so any column name
		// is accepted without growing the mapping.
		FieldFields:   map[string]any{"type": "flattened"},
		FieldTimedOut: map[string]any{"type": "boolean"},
		// A URL can be longer than Lucene's term limit; ignore_above keeps
		// such a tweet indexable (the URL stays in _source).
		FieldURLs: map[string]any{"type": "keyword", "ignore_above": 2048},
	}
	for _, f := range []string{FieldUserID, FieldLang, FieldRetweetOf, FieldQuoteOf, FieldReplyTo, FieldConversationID, FieldHashtags, FieldMentions} {
		props[f] = map[string]any{"type": "keyword"}
	}
	names := make([]any, 0, len(models))
	for _, m := range models {
		vt, _ := esValueType(m.ValueType)
		props[m.Name] = map[string]any{
			"type":    "object",
			"dynamic": "strict",
			"properties": map[string]any{
				"value":   map[string]any{"type": vt},
				"label":   map[string]any{"type": "keyword"},
				"version": map[string]any{"type": "keyword"},
			},
		}
		names = append(names, m.Name)
	}
	params := map[string]any{"models": names}
	return map[string]any{
		"dynamic":    "strict",
		"properties": props,
		"runtime": map[string]any{
			FieldComplete: map[string]any{"type": "boolean", "script": map[string]any{"source": ScriptComplete, "params": params}},
			FieldMissing:  map[string]any{"type": "keyword", "script": map[string]any{"source": ScriptMissing, "params": params}},
			FieldPartial:  map[string]any{"type": "boolean", "script": map[string]any{"source": ScriptPartial, "params": params}},
		},
		"_meta": map[string]any{"tweetflow": map[string]any{"models": names}},
	}, nil
}

// IndexTemplate returns the composable index template for the index: it
// matches the index name exactly and carries Mappings(models), so an index
// recreated by `tweetflow es reset` or created by the first write gets the
// right mapping.
func IndexTemplate(index string, models []Model) (map[string]any, error) {
	if err := ValidateIndexName(index); err != nil {
		return nil, err
	}
	m, err := Mappings(models)
	if err != nil {
		return nil, err
	}
	return map[string]any{
		"index_patterns": []any{index},
		// Above the built-in templates (priority 100 and below), so a
		// name like logs-x-y still gets ours.
		"priority": 200,
		"template": map[string]any{"mappings": m},
		"_meta":    map[string]any{"managed_by": "tweetflow"},
	}, nil
}

// MappedFields lists every field of Mappings(models) as Kibana names it
// (dotted paths, multi-fields and runtime fields included), with its type.
func MappedFields(models []Model) (map[string]string, error) {
	m, err := Mappings(models)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	var walk func(prefix string, props map[string]any)
	walk = func(prefix string, props map[string]any) {
		for name, v := range props {
			def := v.(map[string]any)
			full := prefix + name
			if sub, ok := def["properties"].(map[string]any); ok {
				walk(full+".", sub)
				continue
			}
			out[full] = def["type"].(string)
			if f, ok := def["fields"].(map[string]any); ok {
				for sn, sv := range f {
					out[full+"."+sn] = sv.(map[string]any)["type"].(string)
				}
			}
		}
	}
	walk("", m["properties"].(map[string]any))
	for name, v := range m["runtime"].(map[string]any) {
		out[name] = v.(map[string]any)["type"].(string)
	}
	return out, nil
}
