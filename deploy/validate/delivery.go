package validate

import (
	"fmt"
	"math"
	"time"

	"github.com/rickb777/date/period"
	"sigs.k8s.io/yaml"
)

// RetryBudgetAnnotation states, as an ISO-8601 duration, the longest a record may spend in
// delivery (every attempt at its timeout, every backoff wait) before it goes to the dead-letter
// sink. Its comment in the manifest says what the budget is for (an outage to ride out); the
// check below keeps the settings and the words in step.
const RetryBudgetAnnotation = "tweetflow.dev/retry-budget"

type deliveryDoc struct {
	Metadata struct {
		Annotations map[string]string `json:"annotations"`
	} `json:"metadata"`
	Spec struct {
		Delivery *struct {
			Retry          *int32  `json:"retry"`
			BackoffPolicy  *string `json:"backoffPolicy"`
			BackoffDelay   *string `json:"backoffDelay"`
			Timeout        *string `json:"timeout"`
			DeadLetterSink *struct {
				Ref *struct {
					Kind string `json:"kind"`
					Name string `json:"name"`
				} `json:"ref"`
				URI string `json:"uri"`
			} `json:"deadLetterSink"`
		} `json:"delivery"`
	} `json:"spec"`
}

// WorstCaseDelivery is the longest the Knative Kafka data plane keeps one record in delivery
// with these settings: retry+1 attempts of at most timeout each, and between them the backoff.
// The data plane (eventing-kafka-broker) waits delay*2^n for retry n = 1..retry with the
// exponential policy (so 8 retries from 0.5 s wait 1+2+...+128 = 255 s), delay*n with linear.
func WorstCaseDelivery(retry int32, policy string, delay, timeout time.Duration) time.Duration {
	var wait float64
	for n := 1; n <= int(retry); n++ {
		if policy == "linear" {
			wait += float64(delay) * float64(n)
		} else {
			wait += float64(delay) * math.Pow(2, float64(n))
		}
	}
	return time.Duration(wait) + time.Duration(retry+1)*timeout
}

// checkDelivery applies tweetflow's delivery rules: every KafkaSource has spec.delivery with a
// dead-letter sink (without one, the source commits a record once its retries are spent: the
// tweet is gone), and every delivery spec states its budget in RetryBudgetAnnotation and stays
// within it.
func checkDelivery(docs []Document) []Problem {
	var probs []Problem
	for _, d := range docs {
		knative := d.APIVersion == "eventing.knative.dev/v1" && (d.Kind == "Broker" || d.Kind == "Trigger")
		source := d.Kind == "KafkaSource"
		if !knative && !source {
			continue
		}
		var dd deliveryDoc
		if yaml.Unmarshal(d.Raw, &dd) != nil {
			continue // reported elsewhere
		}
		del := dd.Spec.Delivery
		if source && (del == nil || del.DeadLetterSink == nil) {
			probs = append(probs, d.problem("spec.delivery.deadLetterSink", "required: without it the source commits a record once its retries are spent (default 10, about 10 minutes) and the tweet is lost"))
		}
		if del == nil || del.Retry == nil {
			continue // inherits the Broker's (Triggers) or has none (a dead-letter Broker)
		}
		policy := "exponential"
		if del.BackoffPolicy != nil {
			policy = *del.BackoffPolicy
		}
		dur := func(p *string, def time.Duration) (time.Duration, bool) {
			if p == nil {
				return def, true
			}
			return parseISO(*p)
		}
		delay, ok1 := dur(del.BackoffDelay, 0)
		timeout, ok2 := dur(del.Timeout, 0)
		if !ok1 || !ok2 {
			continue
		}
		worst := WorstCaseDelivery(*del.Retry, policy, delay, timeout)
		field := "metadata.annotations[" + RetryBudgetAnnotation + "]"
		b, ok := dd.Metadata.Annotations[RetryBudgetAnnotation]
		if !ok {
			probs = append(probs, d.problem(field, "missing: state the delivery's budget (worst case with these settings is %s)", round(worst)))
			continue
		}
		budget, ok := parseISO(b)
		if !ok {
			probs = append(probs, d.problem(field, "%q is not an ISO-8601 duration", b))
			continue
		}
		if worst > budget {
			probs = append(probs, d.problem("spec.delivery", "retry %d, %s from %s, timeout %s can keep a record %s (backoff delay*2^n from n=1 plus %d attempts), over its budget %s", *del.Retry, policy, delay, timeout, round(worst), *del.Retry+1, budget))
		}
	}
	return probs
}

func round(d time.Duration) string { return fmt.Sprint(d.Round(time.Second)) }

// parseISO parses an ISO-8601 duration as Knative's delivery spec does (rickb777/date/period).
func parseISO(s string) (time.Duration, bool) {
	p, err := period.Parse(s)
	if err != nil {
		return 0, false
	}
	d, _ := p.Duration()
	return d, true
}
