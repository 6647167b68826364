package kibana_test

import (
	"context"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/kibana"
	"github.com/tweetflow/tweetflow/kibana/kibanatest"
	"github.com/tweetflow/tweetflow/model"
)

func specs() []*model.Spec {
	return []*model.Spec{
		{Name: "offense", Description: "P(offensive)", Value: model.ValueSpec{Type: "float", Min: 0, Max: 1}, Threshold: &model.ThresholdSpec{Value: 0.5, Direction: "above"}},
		{Name: "sentiment", Description: "P(pos)-P(neg)", Value: model.ValueSpec{Type: "float", Min: -1, Max: 1}, Threshold: &model.ThresholdSpec{Value: -0.25, Direction: "below"}},
		{Name: "irony", Value: model.ValueSpec{Type: "float", Min: 0, Max: 1}},
		{Name: "topic", Value: model.ValueSpec{Type: "keyword"}},
	}
}

func generate(t *testing.T, overrides map[string]float64) (kibana.Options, []byte, map[string]string) {
	t.Helper()
	o, err := kibana.FromViews(model.Views(specs()), "tweetflow", overrides)
	if err != nil {
		t.Fatal(err)
	}
	objs, err := kibana.SavedObjects(o)
	if err != nil {
		t.Fatal(err)
	}
	fields, err := elastic.MappedFields(o.ElasticModels())
	if err != nil {
		t.Fatal(err)
	}
	return o, kibana.NDJSON(objs), fields
}

func TestGeneratedObjectsCheck(t *testing.T) {
	_, nd, fields := generate(t, nil)
	if err := kibana.Check(nd, fields); err != nil {
		t.Fatal(err)
	}
	s := string(nd)
	for _, want := range []string{
		`"timeFieldName":"timestamp"`,
		`\"field\":\"sentiment.value\"`, `\"field\":\"offense.value\"`, `\"field\":\"irony.value\"`, `\"field\":\"topic.label\"`,
		`\"thresholdLine\":{\"color\":\"#E7664C\",\"show\":true,\"style\":\"dashed\",\"value\":-0.25`,
		`\"thresholdLine\":{\"color\":\"#E7664C\",\"show\":true,\"style\":\"dashed\",\"value\":0.5`,
		`\"thresholdLine\":{\"color\":\"#E7664C\",\"show\":true,\"style\":\"dashed\",\"value\":1000`,
		`\"interval\":\"10m\"`,
		// The tweet fields (#10): terms panels, the kinds of tweet, the data view's labels and link format.
		`\"field\":\"hashtags\"`, `\"field\":\"urls\"`, `\"field\":\"lang\"`, `\"field\":\"retweet_of\"`, `\"field\":\"user_id\"`,
		`\"query\":\"retweet_of : *\"`, `\"query\":\"quote_of : *\"`, `\"query\":\"reply_to : *\"`,
		`\"urls\":{\"id\":\"url\"`, `\"retweet_of\":{\"customLabel\":\"retweet of (tweet id)\"}`,
	} {
		if !strings.Contains(s, want) {
			t.Errorf("generated objects lack %s", want)
		}
	}
	// One panel per model plus total, partial and rate, six of the tweet
	// fields; one dashboard, one data view.
	if n := strings.Count(s, "\n"); n != 4+3+6+2 {
		t.Errorf("%d objects, want 15", n)
	}
}

func TestOverrides(t *testing.T) {
	o, nd, _ := generate(t, map[string]float64{"sentiment": -0.5, "rate": 50, "irony": 0.7})
	if !strings.Contains(string(nd), `\"value\":-0.5`) || o.RateThreshold != 50 {
		t.Error("overrides not applied")
	}
	rules := kibana.Rules(o)
	if len(rules) != 4 { // rate, sentiment, offense, irony (override gave it a threshold)
		t.Fatalf("%d rules", len(rules))
	}
	if _, err := kibana.FromViews(model.Views(specs()), "tweetflow", map[string]float64{"nosuch": 1}); err == nil {
		t.Error("override of an unknown model accepted")
	}
}

// TestCheckCatches: the structural check is not vacuous.
func TestCheckCatches(t *testing.T) {
	_, nd, fields := generate(t, nil)
	for name, mutate := range map[string]func(string) string{
		"dangling reference": func(s string) string {
			return strings.Replace(s, `"id":"tweetflow-model-irony"`, `"id":"renamed"`, 1)
		},
		"unknown field": func(s string) string { return strings.Replace(s, `irony.value`, `ironyy.value`, 1) },
		"average of a keyword": func(s string) string {
			return strings.Replace(s, `\"field\":\"irony.value\"`, `\"field\":\"irony.label\"`, 1)
		},
		"broken visState":   func(s string) string { return strings.Replace(s, `"visState":"{`, `"visState":"{{`, 1) },
		"broken panelsJSON": func(s string) string { return strings.Replace(s, `"panelsJSON":"[`, `"panelsJSON":"[[`, 1) },
		"query field":       func(s string) string { return strings.Replace(s, `partial : true`, `partiall : true`, 1) },
		"time field": func(s string) string {
			return strings.Replace(s, `"timeFieldName":"timestamp"`, `"timeFieldName":"user"`, 1)
		},
		"not JSON": func(s string) string { return s + "{\n" },
		"terms on text": func(s string) string {
			return strings.Replace(s, `\"field\":\"hashtags\"`, `\"field\":\"text\"`, 1)
		},
		"filters query field": func(s string) string {
			return strings.Replace(s, `\"query\":\"quote_of : *\"`, `\"query\":\"quoted : *\"`, 1)
		},
		"filters without a query": func(s string) string {
			return strings.Replace(s, `\"query\":\"reply_to : *\"`, `\"query\":\"\"`, 1)
		},
		"field label of an unmapped field": func(s string) string {
			return strings.Replace(s, `\"retweet_of\":{\"customLabel\"`, `\"retweeted\":{\"customLabel\"`, 1)
		},
		"link format of an unmapped field": func(s string) string {
			return strings.Replace(s, `\"urls\":{\"id\":\"url\"`, `\"links\":{\"id\":\"url\"`, 1)
		},
		"broken fieldAttrs": func(s string) string { return strings.Replace(s, `"fieldAttrs":"{`, `"fieldAttrs":"{{`, 1) },
		// #14 break 11: Kibana 8.8+ reads typeMigrationVersion and coreMigrationVersion.
		"no typeMigrationVersion": func(s string) string {
			return strings.Replace(s, `"typeMigrationVersion":"7.10.0",`, ``, 1)
		},
		"typeMigrationVersion of a newer format": func(s string) string {
			return strings.Replace(s, `"typeMigrationVersion":"7.9.3"`, `"typeMigrationVersion":"10.3.0"`, 1)
		},
		"no coreMigrationVersion": func(s string) string {
			return strings.Replace(s, `"coreMigrationVersion":"8.8.0",`, ``, 1)
		},
		"legacy migrationVersion only": func(s string) string {
			return strings.Replace(s, `"typeMigrationVersion":"7.11.0","coreMigrationVersion":"8.8.0"`, `"migrationVersion":{"index-pattern":"7.11.0"}`, 1)
		},
	} {
		bad := mutate(string(nd))
		if bad == string(nd) {
			t.Fatalf("%s: mutation did not apply", name)
		}
		if err := kibana.Check([]byte(bad), fields); err == nil {
			t.Errorf("%s: Check passed", name)
		}
	}
}

func TestRules(t *testing.T) {
	o, _, fields := generate(t, nil)
	rules := kibana.Rules(o)
	if len(rules) != 3 {
		t.Fatalf("%d rules, want rate+sentiment+offense", len(rules))
	}
	byField := map[string]kibana.Rule{}
	for _, r := range rules {
		if r.RuleTypeID != ".index-threshold" || r.Params["timeWindowSize"] != 10 || r.Params["timeWindowUnit"] != "m" || r.Params["timeField"] != "timestamp" {
			t.Errorf("rule %+v", r)
		}
		f, _ := r.Params["aggField"].(string)
		if f != "" && fields[f] != "float" {
			t.Errorf("rule %s: aggField %q not a float field", r.Name, f)
		}
		byField[f] = r
	}
	if s := byField["sentiment.value"]; s.Params["thresholdComparator"] != "<" || s.Params["threshold"].([]float64)[0] != -0.25 {
		t.Errorf("sentiment rule %+v", s.Params)
	}
	if s := byField["offense.value"]; s.Params["thresholdComparator"] != ">" || s.Params["threshold"].([]float64)[0] != 0.5 {
		t.Errorf("offense rule %+v", s.Params)
	}
	parsed, err := kibana.ParseRules(kibana.RulesJSON(rules))
	if err != nil || len(parsed) != len(rules) || parsed[0].ID != rules[0].ID {
		t.Fatalf("rules round trip: %v", err)
	}
	if id := kibana.RuleID("", "x"); len(id) != 36 || id[14] != '4' || id != kibana.RuleID("default", "x") || id == kibana.RuleID("analysts", "x") {
		t.Errorf("RuleID = %q", id)
	}
}

func TestImportAndRules(t *testing.T) {
	o, nd, fields := generate(t, nil)
	fk := &kibanatest.Fake{Username: "elastic", Password: "pw", Fields: fields}
	srv := httptest.NewServer(fk)
	defer srv.Close()
	c, err := kibana.NewClient(strings.Replace(srv.URL, "http://", "http://elastic:pw@", 1), "analysts", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for range 2 { // a second import overwrites, a second rule put updates
		res, err := c.Import(ctx, nd)
		if err != nil || res.SuccessCount != 15 {
			t.Fatalf("import = %+v, %v", res, err)
		}
		if err := c.PutRules(ctx, kibana.Rules(o)); err != nil {
			t.Fatal(err)
		}
	}
	if len(fk.Rules()) != 3 || len(fk.Imported()) != 2 || !strings.HasPrefix(fk.Paths()[0], "POST /s/analysts/api/saved_objects/_import") {
		t.Errorf("rules %d, imports %d, paths %v", len(fk.Rules()), len(fk.Imported()), fk.Paths())
	}
	// A rejected import is an error naming the objects.
	if _, err := c.Import(ctx, []byte(strings.Replace(string(nd), "sentiment.value", "nope.value", 1))); err == nil || !strings.Contains(err.Error(), "missing_references") {
		t.Errorf("bad import = %v", err)
	}
	if _, err := kibana.NewClient(srv.URL, "Bad Space", nil, false); err == nil {
		t.Error("bad space accepted")
	}
}

// TestRulesAcrossSpacesAndThresholds: the same rules put into two spaces are
// two sets (ids are global since 8.0, so reusing the default space's ids in a
// second space failed with 404), a changed threshold updates its rule in
// place instead of adding a second one, and a threshold no longer generated
// removes its rule.
func TestRulesAcrossSpacesAndThresholds(t *testing.T) {
	o, _, fields := generate(t, nil)
	fk := &kibanatest.Fake{Username: "elastic", Password: "pw", Fields: fields}
	srv := httptest.NewServer(fk)
	defer srv.Close()
	base := strings.Replace(srv.URL, "http://", "http://elastic:pw@", 1)
	ctx := context.Background()
	perSpace := func(space string) map[string]string {
		out := map[string]string{}
		for id, r := range fk.Rules() {
			if r["_space"] == space {
				out[id] = r["name"].(string)
			}
		}
		return out
	}
	n := len(kibana.Rules(o))
	for _, space := range []string{"", "analysts"} {
		c, err := kibana.NewClient(base, space, nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.PutRules(ctx, kibana.Rules(o)); err != nil {
			t.Fatalf("space %q: %v", space, err)
		}
	}
	if got := len(perSpace("default")); got != n {
		t.Errorf("default space has %d rules, want %d", got, n)
	}
	if got := len(perSpace("analysts")); got != n {
		t.Errorf("analysts space has %d rules, want %d", got, n)
	}
	// A new sentiment threshold: same rule, new name and params.
	c, _ := kibana.NewClient(base, "analysts", nil, false)
	changed := o
	changed.Models = append([]kibana.Model(nil), o.Models...)
	var dropped string
	for i := range changed.Models {
		if changed.Models[i].Threshold == nil {
			continue
		}
		th := *changed.Models[i].Threshold
		if changed.Models[i].Name == "sentiment" {
			th.Value = -0.4
			changed.Models[i].Threshold = &th
		} else if dropped == "" {
			dropped = changed.Models[i].Name
			changed.Models[i].Threshold = nil
		}
	}
	if err := c.PutRules(ctx, kibana.Rules(changed)); err != nil {
		t.Fatal(err)
	}
	got := perSpace("analysts")
	if len(got) != n-1 {
		t.Errorf("after changing one threshold and dropping %s: %d rules, want %d: %v", dropped, len(got), n-1, got)
	}
	found := false
	for _, name := range got {
		if strings.Contains(name, "sentiment") {
			found = strings.Contains(name, "-0.4")
		}
		if dropped != "" && strings.Contains(name, " "+dropped+" ") {
			t.Errorf("rule %q for the dropped threshold is still there", name)
		}
	}
	if !found {
		t.Errorf("sentiment rule not updated to -0.4: %v", got)
	}
	if len(perSpace("default")) != n {
		t.Errorf("the default space's rules changed: %v", perSpace("default"))
	}
}

// An override changes the generated options, never the caller's views.
func TestFromViewsLeavesViewsAlone(t *testing.T) {
	views := model.Views(specs())
	o, err := kibana.FromViews(views, "tweetflow", map[string]float64{"sentiment": -0.5, "irony": 0.7})
	if err != nil {
		t.Fatal(err)
	}
	for _, m := range o.Models {
		switch m.Name {
		case "sentiment":
			if m.Threshold.Value != -0.5 || m.Threshold.Reason != "configured" {
				t.Errorf("sentiment threshold %+v", m.Threshold)
			}
		case "irony":
			if m.Threshold == nil || m.Threshold.Value != 0.7 || m.Threshold.Direction != "above" {
				t.Errorf("irony threshold %+v", m.Threshold)
			}
		}
	}
	for _, v := range views {
		if v.Name == "sentiment" && v.Threshold.Value != -0.25 {
			t.Errorf("the caller's sentiment view changed: %+v", v.Threshold)
		}
		if v.Name == "irony" && v.Threshold != nil {
			t.Errorf("the caller's irony view got a threshold: %+v", v.Threshold)
		}
	}
}

// An import job reads its bundle (here the committed objects), runs its
// index step before the import, and leaves the rules out when asked; a
// bundle folder that is missing fails before anything is sent.
func TestImportJob(t *testing.T) {
	ctx := context.Background()
	fk, c := fakeKibana(t)
	var steps []string
	var out strings.Builder
	j := kibana.ImportJob{Out: &out, EnsureIndex: func(context.Context) error {
		steps = append(steps, fmt.Sprintf("index before %d imports", len(fk.Imported())))
		return nil
	}}
	if err := c.ImportJob(ctx, j); err != nil {
		t.Fatal(err)
	}
	if len(steps) != 1 || steps[0] != "index before 0 imports" || len(fk.Imported()) != 1 || len(fk.Rules()) == 0 ||
		!strings.Contains(out.String(), "imported") || !strings.Contains(out.String(), "alerting rules") {
		t.Fatalf("steps %v, %d imports, %d rules, out %q", steps, len(fk.Imported()), len(fk.Rules()), out.String())
	}
	fk, c = fakeKibana(t)
	if err := c.ImportJob(ctx, kibana.ImportJob{NoRules: true}); err != nil || len(fk.Imported()) != 1 || len(fk.Rules()) != 0 {
		t.Fatalf("--no-rules: %v, %d imports, %d rules", err, len(fk.Imported()), len(fk.Rules()))
	}
	if err := c.ImportJob(ctx, kibana.ImportJob{Dir: t.TempDir()}); err == nil || len(fk.Imported()) != 1 {
		t.Fatalf("empty bundle folder: %v, %d imports; want an error and nothing sent", err, len(fk.Imported()))
	}
}

// fakeKibana is a client of a fresh fake Kibana.
func fakeKibana(t *testing.T) (*kibanatest.Fake, *kibana.Client) {
	t.Helper()
	fk := &kibanatest.Fake{}
	srv := httptest.NewServer(fk)
	t.Cleanup(srv.Close)
	c, err := kibana.NewClient(srv.URL, "", nil, false)
	if err != nil {
		t.Fatal(err)
	}
	return fk, c
}
