package integration

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2"
	"sigs.k8s.io/yaml"

	"github.com/tweetflow/tweetflow/transport/cehttp"
)

// sourceDelivery is a KafkaSource's spec.delivery as the dispatcher uses it.
type sourceDelivery struct {
	retry          cehttp.Retry
	deadLetterSink bool
}

// kafkaSourceDelivery reads spec.delivery from a KafkaSource manifest and
// scales its durations by scale (test time). Without spec.delivery it takes
// the KafkaSource's defaults (eventing-kafka-broker): 10 retries,
// exponential from 0.3 s, and no dead-letter sink.
func kafkaSourceDelivery(manifest []byte, scale float64) (*sourceDelivery, error) {
	var m struct {
		Kind string `json:"kind"`
		Spec struct {
			Delivery *struct {
				Retry          *int   `json:"retry"`
				BackoffPolicy  string `json:"backoffPolicy"`
				BackoffDelay   string `json:"backoffDelay"`
				DeadLetterSink *struct {
					Ref *struct {
						Name string `json:"name"`
					} `json:"ref"`
					URI string `json:"uri"`
				} `json:"deadLetterSink"`
			} `json:"delivery"`
		} `json:"spec"`
	}
	if err := yaml.Unmarshal(manifest, &m); err != nil {
		return nil, fmt.Errorf("kafkasource manifest: %w", err)
	}
	if m.Kind != "KafkaSource" {
		return nil, fmt.Errorf("kafkasource manifest: kind %q, want KafkaSource", m.Kind)
	}
	retries, delay, dls := 10, 300*time.Millisecond, false
	if dv := m.Spec.Delivery; dv != nil {
		if dv.Retry != nil {
			retries = *dv.Retry
		}
		if dv.BackoffPolicy != "" && dv.BackoffPolicy != "exponential" {
			return nil, fmt.Errorf("kafkasource spec.delivery.backoffPolicy %q: only exponential is modelled", dv.BackoffPolicy)
		}
		if dv.BackoffDelay != "" {
			d, err := isoSeconds(dv.BackoffDelay)
			if err != nil {
				return nil, fmt.Errorf("kafkasource spec.delivery.backoffDelay: %w", err)
			}
			delay = d
		}
		dls = dv.DeadLetterSink != nil && (dv.DeadLetterSink.Ref != nil || dv.DeadLetterSink.URI != "")
	}
	return &sourceDelivery{
		retry:          cehttp.Retry{Retries: retries, Delay: max(time.Duration(float64(delay)*scale), time.Microsecond)},
		deadLetterSink: dls,
	}, nil
}

// isoSeconds parses the ISO 8601 durations Knative delivery uses (PT1S,
// PT0.3S, PT2M, PT1H).
func isoSeconds(s string) (time.Duration, error) {
	rest, ok := strings.CutPrefix(s, "PT")
	if !ok || rest == "" {
		return 0, fmt.Errorf("duration %q: want PT<n>H/M/S", s)
	}
	var total time.Duration
	for rest != "" {
		i := strings.IndexAny(rest, "HMS")
		if i <= 0 {
			return 0, fmt.Errorf("duration %q: want PT<n>H/M/S", s)
		}
		n, err := strconv.ParseFloat(rest[:i], 64)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("duration %q: bad number %q", s, rest[:i])
		}
		unit := map[byte]time.Duration{'H': time.Hour, 'M': time.Minute, 'S': time.Second}[rest[i]]
		total += time.Duration(n * float64(unit))
		rest = rest[i+1:]
	}
	return total, nil
}

// TestSourceOutageLongerThanRetries: the Broker ingress stays down past the
// source's retries. With the committed manifest the tweet ends in the dead
// letters; without spec.delivery the source commits it and it is lost.
func TestSourceOutageLongerThanRetries(t *testing.T) {
	manifest, err := os.ReadFile("../eventing/kafkasource.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(manifest, &obj); err != nil {
		t.Fatal(err)
	}
	delete(obj["spec"].(map[string]any), "delivery")
	withoutDelivery, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	// 1 s of cluster time is 10 µs here: 12 retries from 1 s take ~80 ms.
	const scale = 1e-5
	for _, tc := range []struct {
		name       string
		manifest   []byte
		wantDead   int
		wantLost   int64
		minRetries int
	}{
		{"committed", manifest, 1, 0, 11},
		{"no spec.delivery", withoutDelivery, 0, 1, 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := kafkaSourceDelivery(tc.manifest, scale)
			if err != nil {
				t.Fatal(err)
			}
			if src.retry.Retries < tc.minRetries {
				t.Fatalf("source retries %d, want >= %d", src.retry.Retries, tc.minRetries)
			}
			var tries int
			d := &dispatcher{source: src, ingressUp: func() bool { tries++; return false }}
			e := cloudevents.NewEvent()
			e.SetID("tweet-1")
			acked := make(chan error, 1)
			d.handle(context.Background(), e, func(err error) { acked <- err })
			if err := <-acked; err != nil {
				t.Fatalf("ack: %v (the source commits once retries run out)", err)
			}
			if tries != src.retry.Retries+1 {
				t.Errorf("ingress attempts %d, want %d", tries, src.retry.Retries+1)
			}
			dead := d.dead()
			if len(dead) != tc.wantDead || (len(dead) == 1 && dead[0].EventID != "tweet-1") {
				t.Errorf("dead letters %+v, want %d of tweet-1", dead, tc.wantDead)
			}
			if got := d.lost.Load(); got != tc.wantLost {
				t.Errorf("lost %d, want %d", got, tc.wantLost)
			}
		})
	}
}
