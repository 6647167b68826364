package integration

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/embedded"
	"github.com/tweetflow/tweetflow/mode/modelfunc"
	"github.com/tweetflow/tweetflow/mode/produce"
	"github.com/tweetflow/tweetflow/model"
	"github.com/tweetflow/tweetflow/transport"
	"github.com/tweetflow/tweetflow/transport/cehttp"
)

// twitterFiles are the twarc2 files of ../shared/data/twitter/ (all 14;
// the repository keeps byte-identical copies, see that folder's README):
// response pages with includes and errors, the flattened form, a line cut
// off, the same 100 tweets in two files.
const twitterFiles = "../producer/source/twitter/testdata/*.jsonl"

// #10 done-when: the same files go through the Kafka-only mode (producer
// Job into Kafka, the function and aggregator consumer groups) and through
// the HTTP producer (to a broker ingress whose triggers call the model
// functions and route their replies to the Knative aggregator, over
// cehttp) with the same result as the embedded run: the same tweet ids
// stored, each with the same fields (user id, language, retweet/quote/reply
// ids, conversation, hashtags, links, mentions, the text scored) and the
// same model labels and values, every one complete.
func TestTwitterFilesSameInEveryMode(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Embedded.
	edb := filepath.Join(t.TempDir(), "embedded.db")
	ecfg := embedded.Defaults()
	ecfg.Data, ecfg.ModelsDir, ecfg.Store = twitterFiles, modelsDir, core.StoreConfig{SQLite: edb}
	ecfg.Alerts.Off = true
	ecfg.Logger = slog.New(slog.DiscardHandler)
	sum, err := embedded.Run(ctx, ecfg)
	if err != nil {
		t.Fatal(err)
	}
	want := storedTweets(t, edb)
	if len(want) < 300 || sum.StoreTweets != int64(len(want)) {
		t.Fatalf("embedded run stored %d tweets (summary %+v): want the fixtures' 300 and more", len(want), sum)
	}
	retweets := 0
	for _, tw := range want {
		if tw.RetweetOf != "" {
			retweets++
		}
	}
	if retweets < len(want)/3 {
		t.Fatalf("only %d of %d stored tweets are retweets: the fields did not come through", retweets, len(want))
	}

	// Kafka only: the producer Job writes the files to the tweets topic.
	k := newKafkaOnly(t, 2)
	k.startFunctions()
	k.startAggregator()
	if _, err := produce.Run(ctx, produce.Config{Data: twitterFiles, Kafka: k.kcfg, Topic: "tweets", Partitions: 2, Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	k.waitStored(int64(len(want)), 2*time.Minute)
	k.stopAll()
	sameTweets(t, "kafka-only", storedTweets(t, k.dbPath), want)

	// The HTTP producer (K_SINK = the broker ingress): each event is
	// accepted once its triggers have finished, so when Run returns every
	// model's reply has been answered 2xx by the aggregator, which answers
	// once the record holding it is written.
	reg, err := model.Open(modelsDir)
	if err != nil {
		t.Fatal(err)
	}
	fnURLs := map[string]string{}
	for _, name := range reg.Names() {
		fn, closeFn, err := modelfunc.New(core.FunctionConfig{ModelDir: filepath.Join(modelsDir, name)}, metrics.New("function", name))
		if err != nil {
			t.Fatal(err)
		}
		defer closeFn(context.Background())
		srv := httptest.NewServer(cehttp.NewHandler(core.FunctionHandler(fn), cehttp.HandlerOptions{Logger: slog.New(slog.DiscardHandler)}))
		defer srv.Close()
		fnURLs[name] = srv.URL
	}
	hdb := filepath.Join(t.TempDir(), "knative.db")
	pod := &aggregatorPod{t: t, srv: &restartable{addr: "127.0.0.1:0"}, dbPath: hdb, models: reg.Names()}
	pod.start()
	d := &dispatcher{
		client:     &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 64}},
		functions:  fnURLs,
		aggregator: "http://" + pod.srv.addr,
		retry:      cehttp.Retry{Retries: 20, Delay: 5 * time.Millisecond, MaxDelay: 200 * time.Millisecond},
	}
	ingress := httptest.NewServer(cehttp.NewHandler(transport.Sync(d.handle), cehttp.HandlerOptions{Logger: slog.New(slog.DiscardHandler)}))
	defer ingress.Close()
	psum, err := produce.Run(ctx, produce.Config{Data: twitterFiles, SinkURL: ingress.URL, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pod.stop()
	if dl := d.dead(); len(dl) > 0 {
		t.Fatalf("dead letters %+v", dl)
	}
	if psum.Sent <= int64(len(want)) {
		t.Fatalf("the HTTP producer sent %d tweets: want the %d distinct ones and the repeats", psum.Sent, len(want))
	}
	sameTweets(t, "http producer", storedTweets(t, hdb), want)
}

// storedTweets is every tweet a SQLite store holds, by id.
func storedTweets(t *testing.T, path string) map[string]sqlite.Tweet {
	t.Helper()
	st, err := sqlite.Open(context.Background(), path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	out := map[string]sqlite.Tweet{}
	for tw, err := range st.Tweets(context.Background(), time.Time{}, time.Time{}) {
		if err != nil {
			t.Fatal(err)
		}
		out[tw.ID] = tw
	}
	return out
}

// sameTweets fails unless got holds want's tweets and no other, each with
// the same fields (compared as their JSON), complete, and with the same
// label and value (to 1e-6) from each model.
func sameTweets(t *testing.T, via string, got, want map[string]sqlite.Tweet) {
	t.Helper()
	if len(got) != len(want) {
		t.Errorf("%s: %d tweets stored, embedded %d", via, len(got), len(want))
	}
	bad := 0
	for id, w := range want {
		g, ok := got[id]
		gj, _ := json.Marshal(g.Tweet)
		wj, _ := json.Marshal(w.Tweet)
		problem := ""
		switch {
		case !ok:
			problem = "not stored"
		case !bytes.Equal(gj, wj):
			problem = "fields differ:\n got " + string(gj) + "\nwant " + string(wj)
		case !g.Complete || len(g.Results) != len(w.Results):
			problem = "incomplete"
		}
		for m, wr := range w.Results {
			if gr, ok := g.Results[m]; problem == "" && (!ok || gr.Label != wr.Label || abs(gr.Value-wr.Value) > 1e-6) {
				problem = "model " + m + " differs"
			}
		}
		if problem != "" {
			if bad++; bad <= 5 {
				t.Errorf("%s: tweet %s: %s", via, id, problem)
			}
		}
	}
}
