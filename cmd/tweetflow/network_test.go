package main

import (
	"context"
	"io"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// The network flags reach the builder: kind, window, minimum weight,
// format and output file (the networks themselves are mode/network's
// tests, against the QUT toolkit).
func TestNetworkFlags(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "t.db")
	execute(t, "run", "--data", "../../alerts/coord/testdata/qut/fixture.csv", "--models-dir", "../../models", "--db", db,
		"--no-progress", "--no-alerts")
	out := filepath.Join(dir, "links.csv")
	execute(t, "network", "--db", db, "--kind", "co-link", "--window", "10m", "--min-weight", "2", "--out", out)
	rows := readCSV(t, out)
	if len(rows) < 2 || strings.Join(rows[0], ",") != "user_1,user_2,weight" {
		t.Fatalf("edge list %v", rows)
	}
	for _, r := range rows[1:] {
		if w, err := strconv.Atoi(r[2]); err != nil || w < 2 {
			t.Errorf("row %v: weight below --min-weight 2", r)
		}
	}
	all := filepath.Join(dir, "all.csv")
	execute(t, "network", "--db", db, "--kind", "co-link", "--window", "10m", "--out", all)
	if n := len(readCSV(t, all)); n <= len(rows) {
		t.Errorf("any weight: %d rows, want more than the weight-2 network's %d", n, len(rows))
	}
	gexf := execute(t, "network", "--db", db, "--kind", "co-retweet", "--format", "gexf")
	if !strings.Contains(gexf, "<gexf") || !strings.Contains(gexf, "co-retweet/1m0s") {
		t.Errorf("gexf to stdout: %.200s", gexf)
	}
	graphml := execute(t, "network", "--db", db, "--kind", "co-reply", "--window", "2m", "--format", "graphml")
	if !strings.Contains(graphml, "<graphml") || !strings.Contains(graphml, `id="co-reply/2m0s"`) {
		t.Errorf("graphml to stdout: %.200s", graphml)
	}
	strict, loose := filepath.Join(dir, "strict.csv"), filepath.Join(dir, "loose.csv")
	execute(t, "network", "--db", db, "--kind", "co-similar", "--window", "10m", "--out", strict)
	execute(t, "network", "--db", db, "--kind", "co-similar", "--window", "10m", "--similarity", "0.05", "--out", loose)
	if s, l := len(readCSV(t, strict)), len(readCSV(t, loose)); s < 2 || l <= s {
		t.Errorf("co-similar: %d rows at --similarity 0.8, %d at 0.05: want some, and more at 0.05", s, l)
	}
	execute(t, "network", "--db", db, "--kind", "co-similar", "--window", "10m", "--min-tokens", "200", "--out", loose)
	if n := len(readCSV(t, loose)); n != 1 {
		t.Errorf("co-similar --min-tokens 200: %d rows, want the header alone", n)
	}
	root := newRootCmd()
	root.SetOut(io.Discard)
	root.SetErr(io.Discard)
	root.SetArgs([]string{"network", "--db", db, "--es", "http://127.0.0.1:1"})
	if err := root.ExecuteContext(context.Background()); err == nil || !strings.Contains(err.Error(), "--db and --es") {
		t.Errorf("--db with --es: %v", err)
	}
}
