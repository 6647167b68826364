package validate

import (
	"cmp"
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/yaml"
)

// The alert engine (mode/alerting) runs inside an aggregator (observing the records its own
// process stored) or apart from them (`tweetflow kafka alerts`, the Knative alerts function,
// reading the record events): either way, with two replicas each engine sees only its share of
// the stream, and a campaign whose tweets land on both is found by neither (a burst of 6
// accounts split 3+3 stays under the 5-account bound). Scaling to zero loses the open windows
// until the next start rebuilds them. checkAlertingAggregators requires every Deployment or
// function that runs the engine to be exactly one replica, always up, its alerts topic and the
// aggregators' records topic to be declared.

// Values mirrored from the main module (deploy/validate does not import the modes: their
// dependencies, Kafka, SQLite and Elasticsearch clients, are not this module's).
const (
	envAlerts         = "ALERTS"        // mode/alerting.EnvAlerts
	envRecordEvents   = "RECORD_EVENTS" // mode/alerting.EnvRecordEvents
	flagNoAlerts      = "--no-alerts"   // cmd/tweetflow kafka aggregate
	flagAlertsTopic   = "--alerts-topic="
	defaultAlertTopic = "alerts" // mode/kafkaonly.AggregatorDefaults().AlertsTopic
	// The record events an aggregator emits for the engine apart (`tweetflow kafka alerts`).
	flagRecordEvents    = "--record-events"
	flagRecordsTopic    = "--records-topic="
	flagTopic           = "--topic="
	defaultRecordsTopic = "records" // mode/kafkaonly.AggregatorDefaults().RecordsTopic
)

// alertsOff reports whether the ALERTS value v turns the engine off (mode/alerting.FromEnv).
func alertsOff(v string) bool {
	switch strings.ToLower(v) {
	case "off", "false", "0":
		return true
	}
	return false
}

// checkAlertingAggregators applies the one-replica rule to the Kafka-only aggregator
// Deployments (`tweetflow kafka aggregate` without ALERTS=off or --no-alerts) with their
// ScaledObjects and HorizontalPodAutoscalers, and to the Knative aggregator's func.yaml.
func checkAlertingAggregators(docs []Document, funcs map[string]*Function) []Problem {
	var probs []Problem
	topics := map[string]bool{}
	for d, t := range decoded[kafkaTopic](docs, "kafka.strimzi.io/v1", "KafkaTopic") {
		topics[cmp.Or(t.Spec.TopicName, d.Name)] = true
	}
	alerting := map[string]bool{} // namespace/name of the alerting aggregator Deployments
	for d, dep := range decoded[appsv1.Deployment](docs, "apps/v1", "Deployment") {
		for _, rt := range recordsTopics(*dep) {
			if len(topics) > 0 && !topics[rt] {
				probs = append(probs, d.problem("spec.template.spec.containers", "the aggregator produces its record events to topic %q, which is not a KafkaTopic in %s/: declare it, so its partitions, replicas and retention are the cluster's", rt, K8sDir))
			}
		}
		topic, ok := alertingKafkaAggregator(*dep)
		if !ok {
			continue
		}
		alerting[d.Namespace+"/"+d.Name] = true
		if r := dep.Spec.Replicas; r != nil && *r != 1 {
			probs = append(probs, d.problem("spec.replicas", "is %d: this Deployment runs the alert engine, which must see the whole stream (one replica; or set %s=off on an aggregator)", *r, envAlerts))
		}
		if dep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
			probs = append(probs, d.problem("spec.strategy.type", "is %q, want Recreate: a rolling update runs two alert engines, each over part of the stream, while old and new pods share the partitions", dep.Spec.Strategy.Type))
		}
		if topic != "-" && len(topics) > 0 && !topics[topic] {
			probs = append(probs, d.problem("spec.template.spec.containers", "the alert engine produces to topic %q, which is not a KafkaTopic in %s/: declare it, so its partitions, replicas and retention are the cluster's, not those of its creation at start", topic, K8sDir))
		}
	}
	for _, d := range docs {
		var ref struct {
			Kind string `json:"kind"`
			Name string `json:"name"`
		}
		var max *int32
		var field string
		switch {
		case d.Kind == "ScaledObject":
			var so struct {
				Spec struct {
					ScaleTargetRef *struct {
						Kind string `json:"kind"`
						Name string `json:"name"`
					} `json:"scaleTargetRef"`
					Min *int32 `json:"minReplicaCount"`
					Max *int32 `json:"maxReplicaCount"`
				} `json:"spec"`
			}
			if yaml.Unmarshal(d.Raw, &so) != nil || so.Spec.ScaleTargetRef == nil {
				continue
			}
			ref.Kind, ref.Name, max, field = so.Spec.ScaleTargetRef.Kind, so.Spec.ScaleTargetRef.Name, so.Spec.Max, "spec.maxReplicaCount"
			if (ref.Kind == "" || ref.Kind == "Deployment") && alerting[d.Namespace+"/"+ref.Name] && (so.Spec.Min == nil || *so.Spec.Min != 1) {
				probs = append(probs, d.problem("spec.minReplicaCount", "must be 1 for Deployment %s, which runs the alert engine: at zero its windows are gone until a restart rebuilds them", ref.Name))
			}
		case d.Kind == "HorizontalPodAutoscaler":
			var h struct {
				Spec struct {
					ScaleTargetRef struct {
						Kind string `json:"kind"`
						Name string `json:"name"`
					} `json:"scaleTargetRef"`
					Max *int32 `json:"maxReplicas"`
				} `json:"spec"`
			}
			if yaml.Unmarshal(d.Raw, &h) != nil {
				continue
			}
			ref.Kind, ref.Name, max, field = h.Spec.ScaleTargetRef.Kind, h.Spec.ScaleTargetRef.Name, h.Spec.Max, "spec.maxReplicas"
		default:
			continue
		}
		if (ref.Kind != "" && ref.Kind != "Deployment") || !alerting[d.Namespace+"/"+ref.Name] {
			continue
		}
		// KEDA's default maxReplicaCount is 100: unset is not one.
		if max == nil || *max != 1 {
			probs = append(probs, d.problem(field, "is %s, want 1: Deployment %s runs the alert engine, and each further replica's engine would see only its share of the partitions (scale the store writes with %s=off aggregators, docs/ARCHITECTURE.md)", orUnset(max), ref.Name, envAlerts))
		}
	}
	if f, ok := funcs[AggregatorFunc]; ok {
		if v, ok := f.Env(envAlerts); !ok || !alertsOff(v) {
			probs = append(probs, checkAlertingFunc(AggregatorFunc, f)...)
		}
	}
	if f, ok := funcs[AlertsFunc]; ok {
		probs = append(probs, checkAlertingFunc(AlertsFunc, f)...)
		// The engine apart sees only what the aggregator emits.
		if agg, ok := funcs[AggregatorFunc]; ok {
			if v, ok := agg.Env(envRecordEvents); !ok || alertsOff(v) {
				d := Document{File: AggregatorFunc, Line: 1, Kind: "func.yaml", Name: agg.Name}
				probs = append(probs, d.problem("run.envs", "%s is not on: the alerts function (%s) would receive no record event", envRecordEvents, AlertsFunc))
			}
		}
	}
	return probs
}

// recordsTopics returns the topics dep's `tweetflow kafka aggregate` containers produce record
// events to (--record-events, or RECORD_EVENTS=on).
func recordsTopics(dep appsv1.Deployment) []string {
	var out []string
	for _, c := range dep.Spec.Template.Spec.Containers {
		if len(c.Args) < 2 || c.Args[0] != "kafka" || c.Args[1] != "aggregate" {
			continue
		}
		on := false
		for _, e := range c.Env {
			if e.Name == envRecordEvents {
				on = !alertsOff(e.Value) && e.Value != ""
			}
		}
		topic := defaultRecordsTopic
		for _, a := range c.Args[2:] {
			if a == flagRecordEvents || a == flagRecordEvents+"=true" {
				on = true
			}
			if v, found := strings.CutPrefix(a, flagRecordsTopic); found {
				topic = v
			}
		}
		if on {
			out = append(out, topic)
		}
	}
	return out
}

// alertingKafkaAggregator reports whether dep runs the alert engine: `tweetflow kafka alerts`
// (always), or `tweetflow kafka aggregate` with the engine on; and the topic its alerts go to.
func alertingKafkaAggregator(dep appsv1.Deployment) (topic string, ok bool) {
	for _, c := range dep.Spec.Template.Spec.Containers {
		if len(c.Args) >= 2 && c.Args[0] == "kafka" && c.Args[1] == "alerts" {
			topic = defaultAlertTopic
			for _, a := range c.Args[2:] {
				if v, found := strings.CutPrefix(a, flagAlertsTopic); found {
					topic = v
				}
			}
			return topic, true
		}
		if len(c.Args) < 2 || c.Args[0] != "kafka" || c.Args[1] != "aggregate" {
			continue
		}
		for _, e := range c.Env {
			if e.Name == envAlerts && alertsOff(e.Value) {
				return "", false
			}
		}
		topic = defaultAlertTopic
		for _, a := range c.Args[2:] {
			if a == flagNoAlerts || a == flagNoAlerts+"=true" {
				return "", false
			}
			if v, found := strings.CutPrefix(a, flagAlertsTopic); found {
				topic = v
			}
		}
		return topic, true
	}
	return "", false
}

// checkAlertingFunc requires a Knative function that runs the alert engine (the aggregator
// unless it sets ALERTS=off; the alerts function) to scale between exactly one and one pod
// (func writes autoscaling.knative.dev/min-scale and max-scale from deploy.options.scale;
// unset, Knative scales from zero to unbounded).
func checkAlertingFunc(file string, f *Function) []Problem {
	d := Document{File: file, Line: 1, Kind: "func.yaml", Name: f.Name}
	var s FuncScale
	if f.Deploy.Options.Scale != nil {
		s = *f.Deploy.Options.Scale
	}
	var probs []Problem
	for _, b := range []struct {
		field string
		v     *int64
		why   string
	}{
		{"deploy.options.scale.min", s.Min, "at zero the engine's windows are gone until a restart rebuilds them"},
		{"deploy.options.scale.max", s.Max, "each further pod's engine would see only its share of the events"},
	} {
		if b.v == nil || *b.v != 1 {
			probs = append(probs, d.problem(b.field, "is %s, want 1: the function runs the alert engine (%s; on an aggregator, unless %s=off)", orUnset(b.v), b.why, envAlerts))
		}
	}
	return probs
}

// orUnset prints *v, or "unset" for nil.
func orUnset[T int32 | int64](v *T) string {
	if v == nil {
		return "unset"
	}
	return fmt.Sprint(*v)
}
