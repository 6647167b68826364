package core

import (
	"context"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/elastictest"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/esfake"
	"github.com/tweetflow/tweetflow/model"
)

// The store's config becomes the URL drivers.Open takes: a port given
// explicitly (http's 80 is not the URL's default 9200), credentials kept
// out of the URL and in the Elasticsearch config, one scheme for all nodes.
func TestStoreURL(t *testing.T) {
	for _, tc := range []struct {
		c       StoreConfig
		want    string
		wantErr string
		user    string
	}{
		{c: StoreConfig{SQLite: "data/t.db"}, want: "sqlite://data/t.db"},
		{c: StoreConfig{}, wantErr: "no store"},
		{c: StoreConfig{SQLite: "ignored.db", ES: elastic.Config{Addresses: []string{"http://es1", "http://es2:9201/"}, Index: "tw"}}, want: "elasticsearch://es1:80,es2:9201/tw"},
		{c: StoreConfig{ES: elastic.Config{Addresses: []string{"https://u:secret@[::1]/myindex"}}}, want: "elasticsearchs://[::1]:443/myindex", user: "u"},
		{c: StoreConfig{ES: elastic.Config{Addresses: []string{"http://a:9200", "https://b:9200"}}}, wantErr: "mix http and https"},
		{c: StoreConfig{ES: elastic.Config{Addresses: []string{"ftp://a"}}}, wantErr: "not an http(s) URL"},
	} {
		got, es, err := tc.c.url()
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%+v: %q, %v; want an error with %q", tc.c, got, err, tc.wantErr)
			}
			continue
		}
		if err != nil || got != tc.want || es.Username != tc.user || strings.Contains(got, "secret") {
			t.Errorf("%+v: %q (user %q), %v; want %q (user %q)", tc.c, got, es.Username, err, tc.want, tc.user)
		}
	}
}

// Open goes through drivers.Open and still hands the modes the driver's
// own handle (the dashboard's SQLite, the count's Elasticsearch client).
func TestStoreOpenByURL(t *testing.T) {
	ctx := context.Background()
	specs, err := model.Select("../../models", nil)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	st, err := StoreConfig{SQLite: filepath.Join(t.TempDir(), "t.db")}.Open(ctx, specs, log)
	if err != nil {
		t.Fatal(err)
	}
	if st.SQLite == nil || st.ES != nil || st.String() != "sqlite" {
		t.Errorf("sqlite store: %+v", st)
	}
	if err := st.Close(ctx); err != nil {
		t.Fatal(err)
	}
	fake, addr := elastictest.NewFake(t, esfake.Options{})
	dl := filepath.Join(t.TempDir(), "dead.ndjson")
	st, err = StoreConfig{ES: elastic.Config{Addresses: []string{addr}, Index: "tweets-x"}, ESDeadLetter: dl}.Open(ctx, specs, log)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(ctx)
	if st.ES == nil || st.SQLite != nil || st.ES.Index() != "tweets-x" || st.DeadLetter == nil {
		t.Errorf("elasticsearch store: %+v", st)
	}
	if n, err := st.Count(ctx); err != nil || n != 0 || fake.DocCount("tweets-x") != 0 {
		t.Errorf("count of the new index: %d, %v", n, err)
	}
}
