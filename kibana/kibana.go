// Package kibana generates tweetflow's Kibana saved objects (a data view, the
// visualizations, one dashboard) and alerting rules from the model
// registry, checks them structurally, and imports them into a Kibana.
//
// Format choice: the panels are aggregation-based ("legacy") visualization
// saved objects written in the Kibana 7.10 export format and labelled as
// Kibana 8.8+ does (see TypeMigrationVersion). That format has been stable
// since 7.10, Kibana migrates it forward with its own saved-object
// migrations, its JSON is small enough to check field by field, and the line
// chart's thresholdLine draws the reference line. Lens documents change shape
// between minor versions, and TSVB panels name their index by string rather
// than by a data-view reference, so neither is used.
package kibana

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/model"
)

// Threshold is a reference line and an alert bound on a per-interval value:
// the spec's (model.ThresholdSpec), JSON value, direction, reason.
type Threshold = model.ThresholdSpec

// Model is one model's panel configuration: the registry's view
// (model.View). Keyword models get a label-count panel and no threshold; a
// nil Threshold means no line and no rule.
type Model = model.View

// Options configures the generated objects.
type Options struct {
	// Index is the Elasticsearch index the data view points at.
	Index string
	// Models in display order; sentiment and offense first by convention.
	Models []Model
	// Interval is the date histogram bucket (default 10m).
	Interval string
	// RateThreshold is the tweets-per-interval reference line and alert
	// bound (above).
	RateThreshold float64
	// TimeFrom/TimeTo is the dashboard's stored time range (Kibana date
	// math or ISO dates); a replay of 2009 tweets needs its own range.
	TimeFrom, TimeTo string
}

// DefaultRateThreshold is the default tweets-per-10-minutes reference line:
// data/sample.csv (sentiment140) has 202 tweets in an average non-empty
// 10-minute bucket and 566 in its busiest one, so 1000 marks a burst of
// about twice the busiest organic peak of that data; tune it to the stream
// you watch (--threshold rate=N).
const DefaultRateThreshold = 1000

// FromViews builds Options from the registry's views (model.Views): each
// model's panel and rule default to its spec's threshold. overrides (model
// name → value) replace a threshold value; "rate" overrides RateThreshold.
// views is not modified.
func FromViews(views []model.View, index string, overrides map[string]float64) (Options, error) {
	o := Options{Index: index, Interval: "10m", RateThreshold: DefaultRateThreshold, TimeFrom: "now-24h", TimeTo: "now"}
	known := map[string]bool{"rate": true}
	for _, v := range views {
		if v.Threshold != nil {
			t := *v.Threshold // overrides below must not write through to the caller's view
			v.Threshold = &t
		}
		o.Models = append(o.Models, v)
		known[v.Name] = true
	}
	// sentiment and offense lead the dashboard; other models follow by name.
	rank := func(n string) int {
		switch n {
		case "sentiment":
			return 0
		case "offense":
			return 1
		}
		return 2
	}
	slices.SortStableFunc(o.Models, func(a, b Model) int {
		if r := rank(a.Name) - rank(b.Name); r != 0 {
			return r
		}
		return strings.Compare(a.Name, b.Name)
	})
	for name, v := range overrides {
		if !known[name] {
			return o, fmt.Errorf("threshold override for %q: no such model (known: rate and the registry's models)", name)
		}
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return o, fmt.Errorf("threshold override for %q: %v is not a number", name, v)
		}
		if name == "rate" {
			o.RateThreshold = v
			continue
		}
		for i := range o.Models {
			if o.Models[i].Name == name {
				if o.Models[i].Threshold == nil {
					o.Models[i].Threshold = &Threshold{Direction: "above"}
				}
				o.Models[i].Threshold.Value = v
				o.Models[i].Threshold.Reason = "configured"
			}
		}
	}
	return o, nil
}

// ElasticModels returns the index models of the options (for the mapping).
func (o Options) ElasticModels() []elastic.Model {
	return slices.Clone(o.Models)
}

// Object is one saved object as the import API reads it, one per NDJSON
// line.
type Object struct {
	Type       string         `json:"type"`
	ID         string         `json:"id"`
	Attributes map[string]any `json:"attributes"`
	References []Reference    `json:"references"`
	// TypeMigrationVersion is the version of the type's format the
	// attributes are written in: Kibana runs every migration of the type
	// after it on import. CoreMigrationVersion says which of core's own
	// transforms the object has been through. Both replaced the legacy
	// migrationVersion map in Kibana 8.8, and an 8.8+ export carries both.
	TypeMigrationVersion string `json:"typeMigrationVersion"`
	CoreMigrationVersion string `json:"coreMigrationVersion"`
	// Managed false, as core's 8.8.0 transform would set it: objects
	// that users may edit.
	Managed bool `json:"managed"`
}

// CoreMigrationVersion is the last of Kibana core's document transforms
// (8.8.0: migrationVersion → typeMigrationVersion, managed defaults to
// false; 8.19 has none later). The objects here already have that shape,
// so they carry it; a Kibana older than 8.8 refuses them as coming from a
// newer Kibana (the README's version table says 8.19).
const CoreMigrationVersion = "8.8.0"

// TypeMigrationVersion returns the version of the format this package
// writes a saved-object type in, the one the 7.10 export format had: the
// data view as 7.11.0 left it, visualizations 7.10.0, the dashboard 7.9.3
// (its panelsJSON). They are deliberately not the 8.19 types' latest
// versions, so that Kibana runs the later migrations (including the 8.0.0
// conversion to multiple-isolated objects, which follows
// typeMigrationVersion) instead of taking the 7.10 shape as current.
func TypeMigrationVersion(savedObjectType string) (string, bool) {
	switch savedObjectType {
	case "index-pattern":
		return "7.11.0", true
	case "visualization":
		return "7.10.0", true
	case "dashboard":
		return "7.9.3", true
	}
	return "", false
}

// versioned sets the migration versions of a type (one of TypeMigrationVersion's).
func versioned(o Object) Object {
	o.TypeMigrationVersion, _ = TypeMigrationVersion(o.Type)
	o.CoreMigrationVersion = CoreMigrationVersion
	return o
}

// Reference links a saved object to another by id.
type Reference struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

// IDs of the fixed objects. They are stable, so importing with overwrite
// replaces the previous version instead of adding a copy.
const (
	DataViewID  = "tweetflow-data-view"
	DashboardID = "tweetflow-dashboard"
	searchRef   = "kibanaSavedObjectMeta.searchSourceJSON.index"
)

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // only maps of strings, numbers and bools reach here
	}
	return string(b)
}

func searchSource(query string) map[string]any {
	return map[string]any{"searchSourceJSON": mustJSON(map[string]any{
		"query":        map[string]any{"query": query, "language": "kuery"},
		"filter":       []any{},
		"indexRefName": searchRef,
	})}
}

func visObject(id, title, description string, visState map[string]any, query string, index string) Object {
	visState["title"] = title
	return versioned(Object{
		Type: "visualization",
		ID:   id,
		Attributes: map[string]any{
			"title":                 title,
			"description":           description,
			"visState":              mustJSON(visState),
			"uiStateJSON":           "{}",
			"version":               1,
			"kibanaSavedObjectMeta": searchSource(query),
		},
		References: []Reference{{Name: searchRef, Type: "index-pattern", ID: DataViewID}},
	})
}

func dateHistogram(interval string) map[string]any {
	return map[string]any{"id": "2", "enabled": true, "type": "date_histogram", "schema": "segment",
		"params": map[string]any{"field": elastic.FieldTimestamp, "interval": interval, "min_doc_count": 1, "extended_bounds": map[string]any{}, "drop_partials": false}}
}

// lineParams are the vislib line chart params; a threshold becomes the
// dashed reference line, and the value axis is pinned to the model's range
// so the line is drawn even when the data stays on one side of it.
func lineParams(label string, th *Threshold, min, max *float64) map[string]any {
	scale := map[string]any{"type": "linear", "mode": "normal"}
	if min != nil && max != nil {
		scale["setYExtents"] = true
		scale["min"], scale["max"] = *min, *max
	}
	p := map[string]any{
		"type":           "line",
		"grid":           map[string]any{"categoryLines": false},
		"categoryAxes":   []any{map[string]any{"id": "CategoryAxis-1", "type": "category", "position": "bottom", "show": true, "scale": map[string]any{"type": "linear"}, "labels": map[string]any{"show": true, "filter": true, "truncate": 100}, "title": map[string]any{}}},
		"valueAxes":      []any{map[string]any{"id": "ValueAxis-1", "name": "LeftAxis-1", "type": "value", "position": "left", "show": true, "scale": scale, "labels": map[string]any{"show": true, "rotate": 0, "filter": false, "truncate": 100}, "title": map[string]any{"text": label}}},
		"seriesParams":   []any{map[string]any{"show": true, "type": "line", "mode": "normal", "data": map[string]any{"label": label, "id": "1"}, "valueAxis": "ValueAxis-1", "drawLinesBetweenPoints": true, "lineWidth": 2, "showCircles": true, "interpolate": "linear"}},
		"addTooltip":     true,
		"addLegend":      true,
		"legendPosition": "right",
		"times":          []any{},
		"addTimeMarker":  false,
		"thresholdLine":  map[string]any{"show": false, "value": 0, "width": 2, "style": "dashed", "color": "#E7664C"},
	}
	if th != nil {
		p["thresholdLine"] = map[string]any{"show": true, "value": th.Value, "width": 2, "style": "dashed", "color": "#E7664C"}
	}
	return p
}

// SavedObjects returns the data view, the visualizations and the dashboard.
func SavedObjects(o Options) ([]Object, error) {
	if err := elastic.ValidateIndexName(o.Index); err != nil {
		return nil, fmt.Errorf("kibana: index %q: %w", o.Index, err)
	}
	if _, err := elastic.Mappings(o.ElasticModels()); err != nil {
		return nil, fmt.Errorf("kibana: %w", err)
	}
	if o.Interval == "" {
		o.Interval = "10m"
	}
	attrs, formats := dataViewFields()
	objs := []Object{versioned(Object{
		Type: "index-pattern",
		ID:   DataViewID,
		Attributes: map[string]any{
			"title":          o.Index,
			"name":           "tweetflow (" + o.Index + ")",
			"timeFieldName":  elastic.FieldTimestamp,
			"fieldAttrs":     mustJSON(attrs),
			"fieldFormatMap": mustJSON(formats),
		},
		References: []Reference{},
	})}
	objs = append(objs,
		visObject("tweetflow-total", "Tweets (total)", "Number of tweets stored in the selected time range.",
			map[string]any{"type": "metric", "aggs": []any{map[string]any{"id": "1", "enabled": true, "type": "count", "schema": "metric", "params": map[string]any{}}},
				"params": map[string]any{"addTooltip": true, "addLegend": false, "type": "metric", "metric": map[string]any{"percentageMode": false, "useRanges": false, "colorSchema": "Green to Red", "metricColorMode": "None", "colorsRange": []any{map[string]any{"from": 0, "to": 10000}}, "labels": map[string]any{"show": true}, "invertColors": false, "style": map[string]any{"bgFill": "#000", "bgColor": false, "labelColor": false, "subText": "", "fontSize": 60}}}},
			"", o.Index),
		visObject("tweetflow-partial", "Tweets stored partial (join timed out)", "Tweets whose join timed out with models still missing (runtime field partial).",
			map[string]any{"type": "metric", "aggs": []any{map[string]any{"id": "1", "enabled": true, "type": "count", "schema": "metric", "params": map[string]any{}}},
				"params": map[string]any{"addTooltip": true, "addLegend": false, "type": "metric", "metric": map[string]any{"percentageMode": false, "useRanges": false, "colorSchema": "Green to Red", "metricColorMode": "None", "colorsRange": []any{map[string]any{"from": 0, "to": 10000}}, "labels": map[string]any{"show": true}, "invertColors": false, "style": map[string]any{"bgFill": "#000", "bgColor": false, "labelColor": false, "subText": "", "fontSize": 60}}}},
			elastic.FieldPartial+" : true", o.Index),
		visObject("tweetflow-rate", "Tweets per "+o.Interval, fmt.Sprintf("Tweets per %s; the dashed line is the burst threshold (%g).", o.Interval, o.RateThreshold),
			map[string]any{"type": "line", "aggs": []any{
				map[string]any{"id": "1", "enabled": true, "type": "count", "schema": "metric", "params": map[string]any{"customLabel": "tweets"}},
				dateHistogram(o.Interval)},
				"params": lineParams("tweets", &Threshold{Value: o.RateThreshold, Direction: "above"}, nil, nil)},
			"", o.Index),
	)
	for _, m := range o.Models {
		objs = append(objs, modelVis(o, m))
	}
	objs = append(objs, fieldVis(o)...)
	objs = append(objs, dashboard(o, objs[1:]))
	return objs, nil
}

// fieldVis are the panels of the tweet fields (#10): what kind of tweet
// (retweet, quote, reply, original) per interval, and the top hashtags,
// links, languages, retweeted tweets and accounts. Every field is a keyword
// in the mapping (terms need no text analysis).
func fieldVis(o Options) []Object {
	terms := func(id, field string, size int, schema, label string) map[string]any {
		return map[string]any{"id": id, "enabled": true, "type": "terms", "schema": schema,
			"params": map[string]any{"field": field, "size": size, "order": "desc", "orderBy": "1", "otherBucket": false, "missingBucket": false, "customLabel": label}}
	}
	count := map[string]any{"id": "1", "enabled": true, "type": "count", "schema": "metric", "params": map[string]any{}}
	table := func(id, title, desc, field, column string, size int) Object {
		return visObject(id, title, desc,
			map[string]any{"type": "table", "aggs": []any{count, terms("2", field, size, "bucket", column)},
				"params": map[string]any{"perPage": 10, "showPartialRows": false, "showMetricsAtAllLevels": false, "showTotal": false, "totalFunc": "sum", "percentageCol": ""}},
			"", o.Index)
	}
	kinds := []any{}
	for _, k := range []struct{ label, query string }{
		{"retweets", elastic.FieldRetweetOf + " : *"},
		{"quotes", elastic.FieldQuoteOf + " : *"},
		{"replies", elastic.FieldReplyTo + " : *"},
		{"originals", "not " + elastic.FieldRetweetOf + " : * and not " + elastic.FieldQuoteOf + " : * and not " + elastic.FieldReplyTo + " : *"},
	} {
		kinds = append(kinds, map[string]any{"input": map[string]any{"query": k.query, "language": "kuery"}, "label": k.label})
	}
	return []Object{
		visObject("tweetflow-kinds", "Retweets, quotes, replies per "+o.Interval,
			"Tweets per interval by what they are: a retweet, quote or reply of another tweet (retweet_of, quote_of, reply_to set), or an original. A tweet that quotes and replies counts in both.",
			map[string]any{"type": "histogram", "aggs": []any{count, dateHistogram(o.Interval),
				map[string]any{"id": "3", "enabled": true, "type": "filters", "schema": "group", "params": map[string]any{"filters": kinds}}},
				"params": map[string]any{"type": "histogram", "addTooltip": true, "addLegend": true, "legendPosition": "right", "times": []any{}, "addTimeMarker": false}},
			"", o.Index),
		table("tweetflow-top-hashtags", "Top hashtags", "The hashtags of the most tweets (a retweet counts the retweeted tweet's).", elastic.FieldHashtags, "hashtag", 20),
		table("tweetflow-top-links", "Top links", "The links (expanded where the data had them) of the most tweets.", elastic.FieldURLs, "link", 20),
		visObject("tweetflow-languages", "Languages", "Tweets per language tag (BCP 47, und when unknown).",
			map[string]any{"type": "pie", "aggs": []any{count, terms("2", elastic.FieldLang, 10, "segment", "language")},
				"params": map[string]any{"type": "pie", "addTooltip": true, "addLegend": true, "legendPosition": "right", "isDonut": true, "labels": map[string]any{"show": true, "values": true, "last_level": true, "truncate": 100}}},
			"", o.Index),
		table("tweetflow-most-retweeted", "Most retweeted tweets", "The tweet ids with the most retweets in the range: what was amplified.", elastic.FieldRetweetOf, "retweeted tweet id", 20),
		table("tweetflow-top-accounts", "Most active accounts", "The account ids (user_id) with the most tweets in the range.", elastic.FieldUserID, "account id", 20),
	}
}

// dataViewFields are the data view's field labels and formats: the tweet
// fields named for what they hold, links drawn as links.
func dataViewFields() (attrs, formats map[string]any) {
	attrs = map[string]any{}
	for f, label := range map[string]string{
		elastic.FieldUserID: "account id", elastic.FieldLang: "language", elastic.FieldRetweetOf: "retweet of (tweet id)",
		elastic.FieldQuoteOf: "quote of (tweet id)", elastic.FieldReplyTo: "reply to (tweet id)",
		elastic.FieldConversationID: "conversation (first tweet id)", elastic.FieldHashtags: "hashtags",
		elastic.FieldURLs: "links", elastic.FieldMentions: "mentions",
	} {
		attrs[f] = map[string]any{"customLabel": label}
	}
	formats = map[string]any{elastic.FieldURLs: map[string]any{"id": "url", "params": map[string]any{"type": "a", "openLinkInCurrentTab": false}}}
	return attrs, formats
}

func modelVis(o Options, m Model) Object {
	id := "tweetflow-model-" + m.Name
	if m.ValueType == model.TypeKeyword {
		// A keyword value has no average: count tweets per label instead.
		return visObject(id, m.Name+" labels per "+o.Interval, m.Description,
			map[string]any{"type": "histogram", "aggs": []any{
				map[string]any{"id": "1", "enabled": true, "type": "count", "schema": "metric", "params": map[string]any{}},
				dateHistogram(o.Interval),
				map[string]any{"id": "3", "enabled": true, "type": "terms", "schema": "group", "params": map[string]any{"field": m.Name + ".label", "size": 10, "order": "desc", "orderBy": "1"}}},
				"params": map[string]any{"type": "histogram", "addTooltip": true, "addLegend": true, "legendPosition": "right", "times": []any{}, "addTimeMarker": false}},
			"", o.Index)
	}
	desc := m.Description
	if m.Threshold != nil {
		desc += fmt.Sprintf(" Dashed line: %g (%s is worth a look", m.Threshold.Value, m.Threshold.Direction)
		if m.Threshold.Reason != "" {
			desc += ": " + m.Threshold.Reason
		}
		desc += ")."
	}
	var lo, hi *float64
	if m.Max > m.Min {
		lo, hi = &m.Min, &m.Max
	}
	return visObject(id, "Average "+m.Name+" per "+o.Interval, strings.TrimSpace(desc),
		map[string]any{"type": "line", "aggs": []any{
			map[string]any{"id": "1", "enabled": true, "type": "avg", "schema": "metric", "params": map[string]any{"field": m.Name + ".value", "customLabel": "average " + m.Name}},
			dateHistogram(o.Interval)},
			"params": lineParams("average "+m.Name, m.Threshold, lo, hi)},
		"", o.Index)
}

func dashboard(o Options, vis []Object) Object {
	var panels []any
	var refs []Reference
	x, y := 0, 0
	for i, v := range vis {
		w, h := 24, 15
		if v.ID == "tweetflow-total" || v.ID == "tweetflow-partial" {
			h = 8
		}
		if x+w > 48 {
			x, y = 0, y+15
		}
		idx := fmt.Sprint(i + 1)
		ref := fmt.Sprintf("panel_%d", i)
		panels = append(panels, map[string]any{
			"version":          "7.10.0",
			"panelIndex":       idx,
			"gridData":         map[string]any{"x": x, "y": y, "w": w, "h": h, "i": idx},
			"embeddableConfig": map[string]any{},
			"panelRefName":     ref,
		})
		refs = append(refs, Reference{Name: ref, Type: "visualization", ID: v.ID})
		x += w
	}
	return versioned(Object{
		Type: "dashboard",
		ID:   DashboardID,
		Attributes: map[string]any{
			"title":           "tweetflow",
			"description":     "Tweets and their model metadata (" + o.Index + "), with the models' thresholds as reference lines.",
			"panelsJSON":      mustJSON(panels),
			"optionsJSON":     mustJSON(map[string]any{"useMargins": true, "hidePanelTitles": false}),
			"timeRestore":     true,
			"timeFrom":        o.TimeFrom,
			"timeTo":          o.TimeTo,
			"refreshInterval": map[string]any{"pause": false, "value": 30000},
			"version":         1,
			"kibanaSavedObjectMeta": map[string]any{"searchSourceJSON": mustJSON(map[string]any{
				"query": map[string]any{"query": "", "language": "kuery"}, "filter": []any{}})},
		},
		References: refs,
	})
}

// NDJSON encodes objects one per line, in order, as the import API reads
// them and the export API writes them.
func NDJSON(objs []Object) []byte {
	var b bytes.Buffer
	for _, o := range objs {
		b.WriteString(mustJSON(o))
		b.WriteByte('\n')
	}
	return b.Bytes()
}

// Rule is a Kibana alerting rule, as the create rule API reads it
// (POST /api/alerting/rule/{id}).
type Rule struct {
	// ID is the rule's id in the default space. Rule ids are global across
	// spaces since Kibana 8.0 (rules are multiple-isolated saved objects), so
	// Client.PutRules derives the id for its own space from Key.
	ID string `json:"-"`
	// Key names what the rule watches (index, rule kind, model), never its
	// display name, which holds the threshold: a changed threshold updates the
	// rule in place instead of creating a second one.
	Key        string         `json:"-"`
	Name       string         `json:"name"`
	RuleTypeID string         `json:"rule_type_id"`
	Consumer   string         `json:"consumer"`
	Schedule   map[string]any `json:"schedule"`
	Tags       []string       `json:"tags"`
	Enabled    bool           `json:"enabled"`
	Params     map[string]any `json:"params"`
	Actions    []any          `json:"actions"`
}

// Rules returns one index-threshold rule per threshold: each model's
// average per interval against its threshold, and the tweet count per
// interval against the rate threshold. The .index-threshold rule type
// (stack rules) computes exactly the dashboards' aggregation (avg of a
// field, or count, over a time window), checked every minute.
func Rules(o Options) []Rule {
	size, unit := splitInterval(o.Interval)
	base := func(agg, field, cmp string, value float64) map[string]any {
		p := map[string]any{
			"index": []string{o.Index}, "timeField": elastic.FieldTimestamp,
			"aggType": agg, "groupBy": "all",
			"timeWindowSize": size, "timeWindowUnit": unit,
			"thresholdComparator": cmp, "threshold": []float64{value},
		}
		if field != "" {
			p["aggField"] = field
		}
		return p
	}
	mk := func(key, name string, params map[string]any) Rule {
		return Rule{ID: RuleID("", key), Key: key, Name: name, RuleTypeID: ".index-threshold", Consumer: "alerts",
			Schedule: map[string]any{"interval": "1m"}, Tags: []string{RuleTag}, Enabled: true, Params: params, Actions: []any{}}
	}
	rules := []Rule{mk(o.Index+"/rate", fmt.Sprintf("tweetflow: more than %g tweets per %s", o.RateThreshold, o.Interval), base("count", "", ">", o.RateThreshold))}
	for _, m := range o.Models {
		if m.Threshold == nil || m.ValueType == model.TypeKeyword {
			continue
		}
		cmp := ">"
		if m.Threshold.Direction == "below" {
			cmp = "<"
		}
		rules = append(rules, mk(o.Index+"/average/"+m.Name, fmt.Sprintf("tweetflow: average %s %s %g per %s", m.Name, m.Threshold.Direction, m.Threshold.Value, o.Interval), base("avg", m.Name+".value", cmp, m.Threshold.Value)))
	}
	return rules
}

// RuleTag marks the rules tweetflow generates; an import removes the rules
// with this tag that it no longer generates.
const RuleTag = "tweetflow"

// RuleID derives a stable UUID (version 4 layout) from the Kibana space
// ("" is the default space) and a rule's Key, so a re-import updates the
// rule instead of creating a duplicate, and the same rule in two spaces has
// two ids (ids are global across spaces since 8.0). The create rule API
// accepts a v1 or v4 UUID as id.
func RuleID(space, key string) string {
	if space == "default" {
		space = ""
	}
	h := sha256.Sum256([]byte("tweetflow-rule:" + space + "\x00" + key))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// splitInterval turns "10m" into (10, "m"), the rule's time window.
func splitInterval(iv string) (int, string) {
	if iv == "" {
		return 10, "m"
	}
	n := 0
	i := 0
	for i < len(iv) && iv[i] >= '0' && iv[i] <= '9' {
		n = n*10 + int(iv[i]-'0')
		i++
	}
	unit := iv[i:]
	if n == 0 || (unit != "s" && unit != "m" && unit != "h" && unit != "d") {
		return 10, "m"
	}
	return n, unit
}

// RulesJSON encodes rules with their ids, for the committed rules file.
func RulesJSON(rules []Rule) []byte {
	type withID struct {
		ID  string `json:"id"`
		Key string `json:"key"`
		Rule
	}
	var out []withID
	for _, r := range rules {
		out = append(out, withID{r.ID, r.Key, r})
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // keep ">" and "<" readable in the committed file
	enc.SetIndent("", "  ")
	_ = enc.Encode(out) // plain maps, slices and numbers
	return b.Bytes()
}

// ParseRules decodes a rules file written by RulesJSON.
func ParseRules(b []byte) ([]Rule, error) {
	var raw []struct {
		ID  string `json:"id"`
		Key string `json:"key"`
		Rule
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("rules: %w", err)
	}
	var out []Rule
	for i, r := range raw {
		if r.ID == "" || r.Key == "" || r.Name == "" || r.RuleTypeID == "" {
			return nil, fmt.Errorf("rules[%d]: missing id, key, name or rule_type_id", i)
		}
		r.Rule.ID, r.Rule.Key = r.ID, r.Key
		out = append(out, r.Rule)
	}
	return out, nil
}
