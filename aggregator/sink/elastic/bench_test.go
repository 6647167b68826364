package elastic_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tweetflow/tweetflow/aggregator/sink"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/elastictest"
	"github.com/tweetflow/tweetflow/aggregator/sink/elastic/esfake"
	"github.com/tweetflow/tweetflow/aggregator/sink/sinktest"
	"github.com/tweetflow/tweetflow/internal/cputime"
)

const benchBatch = 1000

func benchRecords(n int) []sink.Record {
	recs := make([]sink.Record, n)
	for i := range recs {
		recs[i] = sinktest.Full(i)
		recs[i].Tweet.Text = fmt.Sprintf("@user%d this is tweet %d, about the length of a real one: sentiment140 averages 74 characters", i%500, i)
	}
	return recs
}

// heapPeak samples the live heap while a benchmark runs.
func heapPeak(stop <-chan struct{}) <-chan uint64 {
	out := make(chan uint64, 1)
	go func() {
		var peak uint64
		var ms runtime.MemStats
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			runtime.ReadMemStats(&ms)
			peak = max(peak, ms.HeapInuse)
			select {
			case <-stop:
				out <- peak
				return
			case <-t.C:
			}
		}
	}()
	return out
}

func runWriters(b *testing.B, url string, writers int, fresh bool) {
	d, err := elastic.Open(context.Background(), elastictest.Options(url, "bench", models))
	if err != nil {
		b.Fatal(err)
	}
	defer d.Close(context.Background())
	recs := benchRecords(writers * benchBatch)
	stop := make(chan struct{})
	peak := heapPeak(stop)
	var next atomic.Int64
	b.ResetTimer()
	start, cpu0 := time.Now(), cputime.Process()
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			mine := slices.Clone(recs[w*benchBatch : (w+1)*benchBatch])
			for {
				round := next.Add(benchBatch)
				if round > int64(b.N) {
					return
				}
				if fresh {
					// New tweet ids each round: every update creates a
					// document, as a live stream does.
					for i := range mine {
						mine[i].Tweet.ID = strconv.FormatInt(round+int64(i), 36)
					}
				}
				if err := d.WriteBatch(context.Background(), mine); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	el, cpu := time.Since(start), cputime.Process()-cpu0
	b.StopTimer()
	close(stop)
	b.ReportMetric(float64(b.N)/el.Seconds(), "docs/s")
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/doc")
	b.ReportMetric(float64(<-peak)/(1<<20), "peak-heap-MB")
}

// BenchmarkBulkIntoFake: the whole bulk path (encode, BulkIndexer, HTTP)
// into the fake, which parses, checks and stores every document. b.N is
// documents; new=true writes new tweets (creates), new=false rewrites the
// same ones (merges that change nothing: the redelivery path).
func BenchmarkBulkIntoFake(b *testing.B) {
	for _, fresh := range []bool{true, false} {
		for _, writers := range []int{1, 4} {
			b.Run(fmt.Sprintf("new=%v/writers=%d", fresh, writers), func(b *testing.B) {
				_, url := elastictest.NewFake(b, esfake.Options{})
				runWriters(b, url, writers, fresh)
			})
		}
	}
}

// nullES answers every bulk request with one success item per action
// without parsing documents: what is left is the client's own cost.
func nullES() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Elastic-Product", "Elasticsearch")
		w.Header().Set("Content-Type", "application/json")
		if !strings.HasSuffix(r.URL.Path, "/_bulk") {
			io.WriteString(w, `{"acknowledged":true,"version":{"number":"8.19.7"}}`)
			return
		}
		body, _ := io.ReadAll(r.Body)
		n := bytes.Count(body, []byte("\n")) / 2
		var out bytes.Buffer
		out.WriteString(`{"errors":false,"items":[`)
		for i := range n {
			if i > 0 {
				out.WriteByte(',')
			}
			out.WriteString(`{"update":{"status":200}}`)
		}
		out.WriteString("]}")
		w.Write(out.Bytes())
	})
}

// BenchmarkBulkClientOnly: the client side alone, against a server that
// does no work per document.
func BenchmarkBulkClientOnly(b *testing.B) {
	srv := httptest.NewServer(nullES())
	defer srv.Close()
	runWriters(b, srv.URL, 4, true)
}

// BenchmarkFakeBulk: the fake's own cost for the same bulk bodies, called
// in process (no HTTP, no client).
func BenchmarkFakeBulk(b *testing.B) {
	fake := esfake.New(esfake.Options{})
	elastictest.RegisterScripts(fake)
	tpl, _ := elastic.IndexTemplate("bench", elastictest.Models(models))
	_ = tpl
	m, _ := elastic.Mappings(elastictest.Models(models))
	mb, _ := jsonBytes(map[string]any{"mappings": m})
	rec := httptest.NewRecorder()
	fake.ServeHTTP(rec, httptest.NewRequest("PUT", "/bench", bytes.NewReader(mb)))
	// Encode one batch body the way the driver does (update + doc_as_upsert).
	var body bytes.Buffer
	for i, r := range benchRecords(benchBatch) {
		fmt.Fprintf(&body, `{"update":{"_id":"t%06d","retry_on_conflict":5}}`+"\n", i)
		fmt.Fprintf(&body, `{"doc":{"tweet_id":"t%06d","timestamp":"%s","user":%q,"text":%q,"offense":{"value":%g,"label":%q,"version":"1.0.0"},"sentiment":{"value":%g,"label":%q,"version":"1.0.0"}},"doc_as_upsert":true}`+"\n",
			i, r.Tweet.CreatedAt.Format(time.RFC3339Nano), r.Tweet.User, r.Tweet.Text, r.Results[0].Value, r.Results[0].Label, r.Results[1].Value, r.Results[1].Label)
	}
	raw := body.Bytes()
	b.SetBytes(int64(len(raw)) / benchBatch)
	b.ResetTimer()
	start, cpu0 := time.Now(), cputime.Process()
	for done := 0; done < b.N; done += benchBatch {
		rec := httptest.NewRecorder()
		fake.ServeHTTP(rec, httptest.NewRequest("POST", "/bench/_bulk", bytes.NewReader(raw)))
		if rec.Code != 200 || strings.Contains(rec.Body.String()[:40], `"errors":true`) {
			b.Fatalf("bulk: %d %s", rec.Code, rec.Body.String()[:200])
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "docs/s")
	b.ReportMetric(float64((cputime.Process()-cpu0).Microseconds())/float64(b.N), "cpu-µs/doc")
}

func jsonBytes(v any) ([]byte, error) { return json.Marshal(v) }
