package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spf13/pflag"

	"github.com/tweetflow/tweetflow/alerts"
	"github.com/tweetflow/tweetflow/mode/embedded"
)

// run --summary-json writes the keys the issue names, with the run's numbers.
func TestRunSummaryJSON(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "in.csv")
	rows := []string{
		`"0","1","Mon Apr 06 22:19:45 PDT 2009","NO_QUERY","a","what a lovely day"`,
		`"0","2","Mon Apr 06 22:19:46 PDT 2009","NO_QUERY","b"`,
		`"4","3","Mon Apr 06 22:19:47 PDT 2009","NO_QUERY","c","I hate this so much"`,
	}
	if err := os.WriteFile(data, []byte(strings.Join(rows, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}
	summary := filepath.Join(dir, "summary.json")
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs([]string{"run", "--data", data, "--models-dir", "../../models", "--db", filepath.Join(dir, "t.db"),
		"--summary-json", summary, "--no-progress", "--no-alerts"})
	if err := root.ExecuteContext(context.Background()); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	b, err := os.ReadFile(summary)
	if err != nil {
		t.Fatal(err)
	}
	var got map[string]any
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"rows_read", "rows_rejected", "tweets_stored", "complete", "partial", "models", "seconds", "tweets_per_second"} {
		if _, ok := got[k]; !ok {
			t.Errorf("summary has no %q: %s", k, b)
		}
	}
	if got["rows_read"] != 3.0 || got["rows_rejected"] != 1.0 || got["tweets_stored"] != 2.0 || got["complete"] != 2.0 || got["partial"] != 0.0 {
		t.Fatalf("summary %s", b)
	}
	models, _ := got["models"].(map[string]any)
	sent, _ := models["sentiment"].(map[string]any)
	if sent["scored"] != 2.0 || sent["mean"] == nil {
		t.Fatalf("models %v", models)
	}
	for _, want := range []string{"rows rejected    1 (column_count 1)", "tweets stored    2 (complete 2, partial 0)", "model sentiment"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("printed summary lacks %q:\n%s", want, out.String())
		}
	}
}

// The alert flags reach the run's typed config; unset ones keep its
// defaults, and --alert-threshold-z 0 means any crossing.
func TestAlertFlagsMapOntoConfig(t *testing.T) {
	for _, tc := range []struct {
		args  []string
		check func(a embedded.Alerts) bool
	}{
		{nil, func(a embedded.Alerts) bool {
			return !a.Off && a.Engine.ThresholdZ == alerts.DefaultThresholdZ && a.Hold == alerts.DefaultHold &&
				a.Engine.Coordination.K == alerts.Default().Coordination.K
		}},
		{[]string{"--alert-threshold-z", "0", "--coord-k", "7", "--no-alerts", "--alert-hold", "3s"}, func(a embedded.Alerts) bool {
			return a.Off && a.Engine.ThresholdZ < 0 && a.Engine.Coordination.K == 7 && a.Hold.Seconds() == 3
		}},
		{[]string{"--alert-threshold-z", "1.5", "--alert-min-count", "9"}, func(a embedded.Alerts) bool {
			return a.Engine.ThresholdZ == 1.5 && a.Engine.MinCount == 9
		}},
	} {
		cfg := embedded.Defaults()
		fs := pflag.NewFlagSet("run", pflag.ContinueOnError)
		apply := addAlertFlags(fs, &cfg.Alerts)
		if err := fs.Parse(tc.args); err != nil {
			t.Fatal(err)
		}
		apply()
		if !tc.check(cfg.Alerts) {
			t.Errorf("%v: alerts config %+v", tc.args, cfg.Alerts)
		}
	}
}

// --from and --to (alerts, export) reach their configs as times; empty is
// no bound, and a bad value is refused naming the flag.
func TestTimeFlag(t *testing.T) {
	var from time.Time
	fs := pflag.NewFlagSet("export", pflag.ContinueOnError)
	fs.Var(timeValue{&from}, "from", "")
	if err := fs.Parse([]string{"--from", "2009-04-06T22:19:45-07:00"}); err != nil || !from.Equal(time.Date(2009, 4, 7, 5, 19, 45, 0, time.UTC)) {
		t.Fatalf("--from 2009-04-06T22:19:45-07:00: %v, %v", from, err)
	}
	if err := fs.Parse([]string{"--from", ""}); err != nil || !from.IsZero() {
		t.Fatalf("--from '': %v, %v; want the zero time", from, err)
	}
	if err := fs.Parse([]string{"--from", "yesterday"}); err == nil || !strings.Contains(err.Error(), "--from") {
		t.Fatalf("--from yesterday: %v, want an error naming --from", err)
	}
}
