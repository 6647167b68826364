package integration

import (
	"cmp"
	"context"
	"encoding/csv"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/IBM/sarama"
	cloudevents "github.com/cloudevents/sdk-go/v2"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/sqlite"
	alertstore "github.com/tweetflow/tweetflow/alerts/store"
	"github.com/tweetflow/tweetflow/event"
	"github.com/tweetflow/tweetflow/metrics"
	"github.com/tweetflow/tweetflow/mode/alerting"
	"github.com/tweetflow/tweetflow/mode/core"
	"github.com/tweetflow/tweetflow/mode/embedded"
	"github.com/tweetflow/tweetflow/mode/kafkaonly"
	"github.com/tweetflow/tweetflow/mode/knative"
	"github.com/tweetflow/tweetflow/mode/modetest"
	"github.com/tweetflow/tweetflow/mode/produce"
	"github.com/tweetflow/tweetflow/producer"
	"github.com/tweetflow/tweetflow/transport/cehttp"
	"github.com/tweetflow/tweetflow/transport/kafka"
)

// campaignReplay writes a replay in the QUT toolkit's CSV layout (it
// carries retweets, replies and links): 50 minutes of organic tweets (one
// every 4 s, distinct accounts and texts, organic retweets of a few
// tweets, news links), with planted campaigns: two copy campaigns (6
// accounts posting near-identical texts within a minute, one before the
// middle and one after), a retweet ring (5 accounts retweeting the same 6
// tweets within a minute of each other), and a link push (6 accounts
// posting one URL with different texts within 10 minutes, for 3 URLs).
// Its last row is a tweet three hours later, the clock that closes every
// window in every mode. It returns the file and its number of tweets.
func campaignReplay(t *testing.T) (string, int) {
	t.Helper()
	rng := rand.New(rand.NewPCG(11, 12))
	start := time.Date(2026, 11, 3, 8, 0, 0, 0, time.UTC)
	type row struct {
		id, user, repost, reply, text, urls string
		at                                  time.Time
	}
	var rows []row
	next := 100000
	add := func(user, repost, reply, text, urls string, at time.Time) string {
		next++
		id := fmt.Sprint(next)
		rows = append(rows, row{id, user, repost, reply, text, urls, at})
		return id
	}
	words := strings.Fields("rain bus coffee match score city park music train late happy tired lunch movie " +
		"phone school work market river bridge night morning summer winter garden dinner friend game news")
	say := func() string {
		var ws []string
		for range 8 {
			ws = append(ws, words[rng.IntN(len(words))])
		}
		return strings.Join(ws, " ") + fmt.Sprintf(" %d", rng.IntN(1_000_000))
	}
	var organic []string
	for i := range 750 {
		at := start.Add(time.Duration(i) * 4 * time.Second)
		urls := ""
		if i%10 == 0 {
			urls = fmt.Sprintf("https://news.example/story/%d", i)
		}
		organic = append(organic, add(fmt.Sprintf("o%d", i), "", "", say(), urls, at))
		if i%50 == 25 { // a small organic cascade: five strangers retweet a tweet
			for k := range 5 {
				add(fmt.Sprintf("rt%d-%d", i, k), organic[i], "", "RT "+say(), "", at.Add(time.Duration(3+k*7)*time.Second))
			}
		}
	}
	copyText := []string{
		"the council hid the stadium tax from every family in this city, vote no on friday",
		"The council hid the stadium tax from every family in this city!! vote NO on friday",
		"vote no on friday: the council hid the stadium tax from every family in this city",
	}
	for c, at := range []time.Duration{9 * time.Minute, 37 * time.Minute} {
		for k := range 6 {
			add(fmt.Sprintf("copy%d-%d", c, k), "", "", copyText[k%3], "", start.Add(at+time.Duration(k*9+1)*time.Second))
		}
	}
	for r := range 6 { // the ring retweets organic tweets, one every 7 minutes
		target := organic[100+r*80]
		at := start.Add(time.Duration(5+r*7) * time.Minute)
		for k := range 5 {
			add(fmt.Sprintf("ring%d", k), target, "", "RT "+say(), "", at.Add(time.Duration(k*11+2)*time.Second))
		}
	}
	for u := range 3 { // the link push
		at := start.Add(time.Duration(12+u*12) * time.Minute)
		for k := range 6 {
			add(fmt.Sprintf("push%d", k), "", "", say(), fmt.Sprintf("https://cheap-pills.example/offer?id=%d&utm_source=x%d", u, k),
				at.Add(time.Duration(k*67+5)*time.Second))
		}
	}
	slices.SortStableFunc(rows, func(a, b row) int { return a.at.Compare(b.at) })
	add("clock", "", "", "three hours later", "", start.Add(3*time.Hour))

	path := filepath.Join(t.TempDir(), "campaigns.csv")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := csv.NewWriter(f)
	_ = w.Write(strings.Split("message_id,user_id,username,repost_id,reply_id,message,timestamp,urls", ","))
	for _, r := range rows {
		_ = w.Write([]string{r.id, r.user, "@" + r.user, r.repost, r.reply, r.text, fmt.Sprint(r.at.Unix()), r.urls})
	}
	w.Flush()
	if err := errorsJoin(w.Error(), f.Close()); err != nil {
		t.Fatal(err)
	}
	return path, len(rows)
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// clusterAlerts is the alert engine's setting in the cluster runs below:
// an event-time hold longer than the replay (50 minutes) and shorter than
// the clock's lead (3 hours), so that however far one partition or one
// HTTP worker runs ahead of another, and wherever the restart falls, the
// engine sees every tweet in (time, id) order; the clock row, sent once
// every other row is stored, releases them all. The default rebuild (2 h)
// covers the replay, so the restarted engine is rebuilt from the whole
// store.
func clusterAlerts() alerting.Config {
	c := alerting.ClusterDefaults()
	c.EventHold = 2 * time.Hour
	return c
}

// storedAlerts returns the ids of the alerts in the SQLite file's alerts
// table, sorted.
func storedAlerts(t *testing.T, db string) []string {
	t.Helper()
	st, err := sqlite.Open(context.Background(), db, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close(context.Background())
	as, err := alertstore.Open(context.Background(), st.DB())
	if err != nil {
		t.Fatal(err)
	}
	list, err := as.List(context.Background(), alertstore.Filter{Limit: 10_000})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, a := range list {
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	return ids
}

// eventIDs decodes alert events and returns their distinct ids, sorted.
func eventIDs(t *testing.T, es []cloudevents.Event) []string {
	t.Helper()
	var ids []string
	for i := range es {
		a, err := event.DecodeAlert(&es[i])
		if err != nil {
			t.Fatalf("alert event %d: %v", i, err)
		}
		ids = append(ids, a.ID)
	}
	slices.Sort(ids)
	return slices.Compact(ids)
}

// The same replay with planted campaigns raises the same set of alerts in
// the embedded mode, in the Kafka-only mode (kfake) with the aggregator
// stopped and started again in the middle, and through the Knative
// aggregator over HTTP (cehttp) restarted in the middle; in the cluster
// modes the alerts are in the store and sent as alert events, the same set.
func TestAlertsSameInEveryMode(t *testing.T) {
	data, n := campaignReplay(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()

	// Embedded.
	edb := filepath.Join(t.TempDir(), "embedded.db")
	ecfg := embedded.Defaults()
	ecfg.Data, ecfg.ModelsDir, ecfg.Store = data, modelsDir, core.StoreConfig{SQLite: edb}
	ecfg.Producer = producer.Options{BatchSize: 64}
	// The embedded pipeline stores its batches in parallel, so the clock
	// may be stored before the rows just before it: with a hold longer
	// than its lead, everything waits for the end of the run, which passes
	// it all to the engine in (time, id) order, the order of the cluster
	// runs below.
	ecfg.Alerts.EventHold = 24 * time.Hour
	ecfg.Logger = slog.New(slog.DiscardHandler)
	sum, err := embedded.Run(ctx, ecfg)
	if err != nil {
		t.Fatal(err)
	}
	if sum.RowsRead != int64(n) {
		t.Fatalf("embedded run read %d rows, want %d", sum.RowsRead, n)
	}
	want := storedAlerts(t, edb)
	coordination := 0
	for _, id := range want {
		if strings.HasPrefix(id, event.AlertCoordination+"/") {
			coordination++
		}
	}
	if coordination < 2 {
		t.Fatalf("embedded alerts %v: want both copy campaigns", want)
	}
	// Every pair of the ring co-retweeted 6 tweets and every pair of the
	// push co-linked 3 URLs: each is a repeated co-action alert; the
	// organic cascades' strangers co-retweeted once and raise none.
	for _, planted := range []struct {
		metric, prefix string
		n              int
	}{{"co-retweet", "ring", 5}, {"co-link", "push", 6}} {
		for a := range planted.n {
			for b := a + 1; b < planted.n; b++ {
				suffix := fmt.Sprintf("/%s%d/%s%d", planted.prefix, a, planted.prefix, b)
				if !slices.ContainsFunc(want, func(id string) bool {
					return strings.HasPrefix(id, "coordination/"+planted.metric+"/") && strings.HasSuffix(id, suffix)
				}) {
					t.Errorf("no %s alert for%s in %v", planted.metric, suffix, want)
				}
			}
		}
	}
	for _, id := range want {
		if strings.Contains(id, "/rt") || strings.Contains(id, "/o") {
			t.Errorf("alert %s names an organic account", id)
		}
	}
	t.Logf("embedded alerts: %v", want)

	// Kafka only, the aggregator stopped after half the tweets are stored.
	// 60% of the rows first; the aggregator stops once 40% are stored,
	// with more in flight; then the rest.
	k, replay, sixty := startCampaignReplay(ctx, t, data, n)
	var stored atomic.Int64
	startAgg := func() func() {
		cfg := kafkaonly.AggregatorConfig{Consumer: kafkaonly.Consumer{Kafka: k.kcfg}, MetricsAddr: "", Logger: slog.New(slog.DiscardHandler),
			Alerts: clusterAlerts(),
			Aggregator: core.AggregatorConfig{ModelsDir: modelsDir, Store: core.StoreConfig{SQLite: k.dbPath}, JoinTimeout: time.Minute,
				OnStored: func(recs []sink.Record) {
					stored.Add(int64(len(recs)))
					select {
					case k.stored <- struct{}{}:
					default:
					}
				}}}
		return k.run(func(ctx context.Context) error { return kafkaonly.RunAggregator(ctx, cfg) })
	}
	stop := startAgg()
	k.until(3*time.Minute, func() bool { return stored.Load() >= int64(n*4/10) },
		func() string {
			return fmt.Sprintf("%d records stored before the restart, want %d", stored.Load(), n*4/10)
		})
	stop()
	before := stored.Load()
	replay(sixty+1, int64(n-1-sixty))
	startAgg()
	k.waitStored(int64(n-1), 3*time.Minute)
	replay(n, 0) // the clock
	k.waitStored(int64(n), time.Minute)
	k.stopAll()
	if before >= int64(n) {
		t.Fatalf("the first aggregator stored %d of %d records: the restart was not in the middle", before, n)
	}
	if got := storedAlerts(t, k.dbPath); !slices.Equal(got, want) {
		t.Errorf("Kafka-only alerts %v\nwant (embedded) %v", got, want)
	}
	alertEvents := readTopicToEnd(ctx, t, k.kcfg, "alerts")
	if got := eventIDs(t, alertEvents); !slices.Equal(got, want) {
		t.Errorf("Kafka-only alert events %v\nwant %v", got, want)
	}

	// Knative over HTTP: the metadata events the Kafka run's functions
	// produced, POSTed by concurrent workers to the Knative aggregator
	// behind cehttp, restarted once half of them are answered.
	metadata := readTopicToEnd(ctx, t, k.kcfg, "metadata")
	if len(metadata) < 2*n {
		t.Fatalf("%d metadata events, want %d", len(metadata), 2*n)
	}
	testKnativeAlerts(ctx, t, metadata, want, false)
	// The engine apart from the aggregators: they emit record events, it
	// reads them (its own consumer group; the Knative alerts function).
	testKafkaAlertsApart(ctx, t, data, n, want)
	testKnativeAlerts(ctx, t, metadata, want, true)
}

// startCampaignReplay starts a Kafka-only cluster (3 partitions), produces
// the first 60% of data's n rows and starts the functions; replay(row,
// limit) produces more, from the 1-based row on (limit 0: to the end).
func startCampaignReplay(ctx context.Context, t *testing.T, data string, n int) (k *kafkaOnly, replay func(startRow int, limit int64), sixty int) {
	k = newKafkaOnly(t, 3)
	replay = func(startRow int, limit int64) {
		if _, err := produce.Run(ctx, produce.Config{Data: data, Kafka: k.kcfg, Partitions: 3, StartRow: startRow,
			Producer: producer.Options{BatchSize: 64, Limit: limit}, Logger: slog.New(slog.DiscardHandler)}); err != nil {
			t.Fatal(err)
		}
	}
	sixty = n * 6 / 10
	replay(1, int64(sixty))
	k.startFunctions()
	return k, replay, sixty
}

// testKafkaAlertsApart replays data through the Kafka-only mode with the
// alert engine as its own consumer group (`tweetflow kafka alerts`) on the
// records topic the aggregator (ALERTS=off, --record-events) fills; both
// are stopped once the engine has seen 40% of the tweets and started
// again, the engine rebuilding from the store; its alerts, in the store
// and on its alerts topic, must be want.
func testKafkaAlertsApart(ctx context.Context, t *testing.T, data string, n int, want []string) {
	k, replay, sixty := startCampaignReplay(ctx, t, data, n)
	var (
		mu     sync.Mutex
		seen   = map[string]bool{} // tweet ids the engines saw through the topic
		before int
	)
	nSeen := func() int {
		mu.Lock()
		defer mu.Unlock()
		return len(seen)
	}
	startBoth := func() (stop func()) {
		agg := kafkaonly.AggregatorConfig{Consumer: kafkaonly.Consumer{Kafka: k.kcfg}, MetricsAddr: "", Logger: slog.New(slog.DiscardHandler),
			Alerts: alerting.Config{Off: true}, RecordEvents: true, RecordsPartitions: 3,
			Aggregator: core.AggregatorConfig{ModelsDir: modelsDir, Store: core.StoreConfig{SQLite: k.dbPath}, JoinTimeout: time.Minute}}
		eng := kafkaonly.AlertsConfig{Consumer: kafkaonly.Consumer{Kafka: k.kcfg}, MetricsAddr: "", Logger: slog.New(slog.DiscardHandler),
			AlertsTopic: "alerts-apart",
			Engine: alerting.EngineConfig{Alerts: clusterAlerts(), ModelsDir: modelsDir, Store: core.StoreConfig{SQLite: k.dbPath},
				OnObserved: func(recs []sink.Record) {
					mu.Lock()
					for _, r := range recs {
						seen[r.Tweet.ID] = true
					}
					mu.Unlock()
					select {
					case k.stored <- struct{}{}:
					default:
					}
				}}}
		stopAgg := k.run(func(ctx context.Context) error { return kafkaonly.RunAggregator(ctx, agg) })
		stopEng := k.run(func(ctx context.Context) error { return kafkaonly.RunAlerts(ctx, eng) })
		return func() { stopAgg(); stopEng() }
	}
	stop := startBoth()
	k.until(3*time.Minute, func() bool { return nSeen() >= n*4/10 },
		func() string {
			return fmt.Sprintf("the engine saw %d records before the restart, want %d", nSeen(), n*4/10)
		})
	stop()
	before = nSeen()
	replay(sixty+1, int64(n-1-sixty))
	startBoth()
	// The clock goes once the engine has seen every other tweet.
	k.until(3*time.Minute, func() bool { return nSeen() >= n-1 },
		func() string { return fmt.Sprintf("the engine saw %d records, want %d", nSeen(), n-1) })
	replay(n, 0)
	k.until(time.Minute, func() bool { return nSeen() >= n },
		func() string { return fmt.Sprintf("the engine saw %d records, want %d (the clock)", nSeen(), n) })
	k.stopAll()
	if before >= n-1 {
		t.Fatalf("the first engine saw %d of %d records: the restart was not in the middle", before, n)
	}
	if got := storedAlerts(t, k.dbPath); !slices.Equal(got, want) {
		t.Errorf("Kafka-only alerts of the engine apart %v\nwant (embedded) %v", got, want)
	}
	if got := eventIDs(t, readTopicToEnd(ctx, t, k.kcfg, "alerts-apart")); !slices.Equal(got, want) {
		t.Errorf("Kafka-only alert events of the engine apart %v\nwant %v", got, want)
	}
	if recs := readTopicToEnd(ctx, t, k.kcfg, "records"); len(recs) < n {
		t.Errorf("%d record events, want at least %d", len(recs), n)
	} else if _, err := event.DecodeRecord(&recs[0]); err != nil {
		t.Errorf("record event: %v", err)
	}
}

// testKnativeAlerts feeds metadata to the Knative aggregator over HTTP,
// restarting it in the middle, and compares its alerts with want. apart:
// the aggregator runs with ALERTS=off and RECORD_EVENTS=on, and the alert
// engine is the Knative alerts function, to which the broker (a handler
// here, routing by type as the Trigger on dev.tweetflow.record.v1 does)
// POSTs the record events; both restart in the middle.
func testKnativeAlerts(ctx context.Context, t *testing.T, metadata []cloudevents.Event, want []string, apart bool) {
	var (
		mu      sync.Mutex
		sent    []cloudevents.Event
		records atomic.Int64
		engine  atomic.Pointer[http.Handler]
		engSrv  = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*engine.Load()).ServeHTTP(w, r) }))
	)
	defer engSrv.Close()
	sinkSrv := httptest.NewServer(cehttp.NewHandler(func(ctx context.Context, e cloudevents.Event) (*cloudevents.Event, error) {
		if e.Type() == event.TypeRecord {
			records.Add(1)
			// The Trigger's delivery: the broker answers the aggregator
			// once the engine did (here, synchronously).
			if _, status, err := cehttp.Post(ctx, engSrv.Client(), engSrv.URL, e); err != nil || status/100 != 2 {
				return nil, fmt.Errorf("record event %s to the alerts function: %d %w", e.ID(), status, err)
			}
			return nil, nil
		}
		mu.Lock()
		defer mu.Unlock()
		sent = append(sent, e)
		return nil, nil
	}, cehttp.HandlerOptions{Logger: slog.New(slog.DiscardHandler)}))
	defer sinkSrv.Close()
	db := filepath.Join(t.TempDir(), "knative.db")
	env := map[string]string{"MODELS_DIR": modelsDir, "SQLITE_PATH": db, knative.EnvSink: sinkSrv.URL}
	if apart {
		env[alerting.EnvAlerts], env[alerting.EnvRecordEvents] = "off", "on"
	}
	var handler atomic.Pointer[http.Handler]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { (*handler.Load()).ServeHTTP(w, r) }))
	defer srv.Close()
	serve := func(at *atomic.Pointer[http.Handler], comp knative.Component) {
		h := cehttp.NewHandler(comp.Handler, cehttp.HandlerOptions{Logger: slog.New(slog.DiscardHandler)})
		at.Store(&h)
	}
	load := func() (close func()) {
		var eng knative.Component
		if apart {
			// The engine first: the aggregator's first write emits.
			var err error
			eng, err = knative.AlertsLoader(slog.New(slog.DiscardHandler), func(c *alerting.EngineConfig) {
				c.Alerts.EventHold = clusterAlerts().EventHold
			})(ctx, map[string]string{"MODELS_DIR": modelsDir, "SQLITE_PATH": db, knative.EnvSink: sinkSrv.URL}, metrics.New("alerts", ""))
			if err != nil {
				t.Fatal(err)
			}
			serve(&engine, eng)
		}
		comp, err := knative.AggregatorLoader(slog.New(slog.DiscardHandler), func(_ *core.AggregatorConfig, a *alerting.Config) {
			a.EventHold = clusterAlerts().EventHold
		})(ctx, env, metrics.New("aggregator", ""))
		if err != nil {
			t.Fatal(err)
		}
		serve(&handler, comp)
		// A stop drains the aggregator (every answered event is stored
		// and emitted), then the engine.
		return func() {
			if err := comp.Close(ctx); err != nil {
				t.Fatal(err)
			}
			if apart {
				if err := eng.Close(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	// The clock's events go last, once every other tweet is stored.
	var clock, rest []cloudevents.Event
	at := map[string]time.Time{}
	seen := map[string]bool{}
	for _, e := range metadata {
		if seen[e.ID()] { // a function's redelivered reply
			continue
		}
		seen[e.ID()] = true
		md, err := event.DecodeMetadata(&e)
		if err != nil {
			t.Fatal(err)
		}
		at[e.ID()] = md.Tweet.CreatedAt
		if md.Tweet.User == "clock" {
			clock = append(clock, e)
		} else {
			rest = append(rest, e)
		}
	}
	// Out of order within blocks of 32 events, posted by 64 workers: a
	// tweet's two events are in flight together, as Knative's concurrent
	// deliveries have them, so the join completes instead of every worker
	// waiting on a partner that no worker holds.
	slices.SortFunc(rest, func(a, b cloudevents.Event) int {
		return cmp.Or(at[a.ID()].Compare(at[b.ID()]), strings.Compare(a.ID(), b.ID()))
	})
	rng := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < len(rest); i += 32 {
		blk := rest[i:min(i+32, len(rest))]
		rng.Shuffle(len(blk), func(i, j int) { blk[i], blk[j] = blk[j], blk[i] })
	}
	post := func(events []cloudevents.Event) {
		var wg sync.WaitGroup
		work := make(chan cloudevents.Event)
		for range 64 {
			wg.Go(func() {
				for e := range work {
					if _, status, err := cehttp.Post(ctx, srv.Client(), srv.URL, e); err != nil || status/100 != 2 {
						t.Errorf("POST %s: %d %v", e.ID(), status, err)
					}
				}
			})
		}
		for _, e := range events {
			work <- e
		}
		close(work)
		wg.Wait()
	}
	stop := load()
	half := len(rest) / 2
	post(rest[:half])
	// A restart: the instance drains (every answered event is stored) and
	// a new one starts over the same file, rebuilding the engine.
	stop()
	stop = load()
	post(rest[half-100:]) // the last hundred again: redelivered
	post(clock)
	stop()
	what := "Knative"
	if apart {
		what = "Knative, the engine apart,"
		if n := records.Load(); n < int64(len(rest)/2) {
			t.Errorf("%d record events through the broker, want one per write", n)
		}
	}
	if got := storedAlerts(t, db); !slices.Equal(got, want) {
		t.Errorf("%s alerts %v\nwant (embedded) %v", what, got, want)
	}
	mu.Lock()
	defer mu.Unlock()
	if got := eventIDs(t, sent); !slices.Equal(got, want) {
		t.Errorf("%s alert events (K_SINK) %v\nwant %v", what, got, want)
	}
}

// readTopicToEnd reads every record of topic, up to its end offsets at the
// time of the call, as events.
func readTopicToEnd(ctx context.Context, t *testing.T, cfg kafka.Config, topic string) []cloudevents.Event {
	t.Helper()
	client, err := sarama.NewClient(cfg.Brokers, sarama.NewConfig())
	if err != nil {
		t.Fatal(err)
	}
	parts, err := client.Partitions(topic)
	if err != nil {
		t.Fatal(err)
	}
	total := 0
	for _, p := range parts {
		end, err := client.GetOffset(topic, p, sarama.OffsetNewest)
		if err != nil {
			t.Fatal(err)
		}
		total += int(end)
	}
	client.Close()
	var out []cloudevents.Event
	for _, m := range modetest.ReadTopic(ctx, t, cfg, topic, total) {
		e, err := kafka.Decode(ctx, m)
		if err != nil {
			t.Fatalf("%s: %v", topic, err)
		}
		out = append(out, *e)
	}
	return out
}
