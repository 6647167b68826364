package validate

import (
	"cmp"
	"strings"
	"testing"
)

// A Kafka-only aggregator Deployment; env and extra args are spliced in.
func aggregatorDeployment(env, args, strategy string) string {
	return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: agg
  namespace: tweetflow
spec:
` + strategy + `  selector:
    matchLabels:
      app: agg
  template:
    metadata:
      labels:
        app: agg
    spec:
      containers:
        - name: aggregator
          image: tweetflow
          args:
            - kafka
            - aggregate
            - --topic=metadata
            - --group=g
` + args + `          env:
            - name: KAFKA_BROKERS
              value: k:9092
` + env
}

const (
	recreate  = "  strategy:\n    type: Recreate\n"
	topicDocs = `apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata:
  name: metadata
  namespace: kafka
spec:
  partitions: 12
---
apiVersion: kafka.strimzi.io/v1
kind: KafkaTopic
metadata:
  name: alerts
  namespace: kafka
spec:
  partitions: 3
`
)

func kedaObject(min, max string) string {
	s := `apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: agg
  namespace: tweetflow
spec:
  scaleTargetRef:
    name: agg
`
	if min != "" {
		s += "  minReplicaCount: " + min + "\n"
	}
	if max != "" {
		s += "  maxReplicaCount: " + max + "\n"
	}
	return s + "  triggers:\n    - type: kafka\n      metadata:\n        topic: metadata\n"
}

const hpa3 = `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: agg
  namespace: tweetflow
spec:
  scaleTargetRef:
    apiVersion: apps/v1
    kind: Deployment
    name: agg
  minReplicas: 1
  maxReplicas: 3
`

// TestAlertingAggregatorsScaleToOne: an aggregator that runs the alert engine may not scale past
// (or below) one pod, by any of the objects that scale it, and its alerts topic must be declared;
// one with the engine off may scale freely.
func TestAlertingAggregatorsScaleToOne(t *testing.T) {
	alertsOffEnv := "            - name: ALERTS\n              value: \"off\"\n"
	cases := []struct {
		name string
		docs []string
		want []string // one substring per expected problem, in order; none: no problems
	}{
		{name: "one replica, Recreate, topic declared", docs: []string{aggregatorDeployment("", "", recreate), kedaObject("1", "1"), topicDocs}},
		{name: "KEDA max 12", docs: []string{aggregatorDeployment("", "", recreate), kedaObject("1", "12"), topicDocs},
			want: []string{"ScaledObject agg: spec.maxReplicaCount: is 12, want 1"}},
		{name: "KEDA max unset (KEDA's default is 100)", docs: []string{aggregatorDeployment("", "", recreate), kedaObject("1", ""), topicDocs},
			want: []string{"spec.maxReplicaCount: is unset, want 1"}},
		{name: "KEDA scales to zero", docs: []string{aggregatorDeployment("", "", recreate), kedaObject("0", "1"), topicDocs},
			want: []string{"spec.minReplicaCount: must be 1"}},
		{name: "HPA max 3", docs: []string{aggregatorDeployment("", "", recreate), hpa3, topicDocs},
			want: []string{"HorizontalPodAutoscaler agg: spec.maxReplicas: is 3, want 1"}},
		{name: "replicas 2", docs: []string{strings.Replace(aggregatorDeployment("", "", recreate), "spec:\n  strategy", "spec:\n  replicas: 2\n  strategy", 1), topicDocs},
			want: []string{"spec.replicas: is 2"}},
		{name: "rolling update", docs: []string{aggregatorDeployment("", "", ""), topicDocs},
			want: []string{"spec.strategy.type"}},
		{name: "alerts topic missing", docs: []string{aggregatorDeployment("", "", recreate), strings.SplitN(topicDocs, "---\n", 2)[0]},
			want: []string{`topic "alerts", which is not a KafkaTopic`}},
		{name: "renamed alerts topic missing", docs: []string{aggregatorDeployment("", "            - --alerts-topic=campaigns\n", recreate), topicDocs},
			want: []string{`topic "campaigns"`}},
		{name: "no alert events, no topic needed", docs: []string{aggregatorDeployment("", "            - --alerts-topic=-\n", recreate), strings.SplitN(topicDocs, "---\n", 2)[0]}},
		{name: "ALERTS=off scales freely", docs: []string{aggregatorDeployment(alertsOffEnv, "", ""), kedaObject("0", "12"), hpa3}},
		{name: "--no-alerts scales freely", docs: []string{aggregatorDeployment("", "            - --no-alerts\n", ""), kedaObject("1", "12")}},
		{name: "ALERTS=on is alerting", docs: []string{aggregatorDeployment("            - name: ALERTS\n              value: \"on\"\n", "", recreate), kedaObject("1", "2"), topicDocs},
			want: []string{"spec.maxReplicaCount: is 2"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docs, probs := SplitDocuments("m.yaml", []byte(strings.Join(c.docs, "---\n")))
			if len(probs) > 0 {
				t.Fatalf("test manifests: %v", probs)
			}
			wantProblems(t, checkAlertingAggregators(docs, nil), c.want)
		})
	}
}

// TestAlertingFuncScalesToOne: the Knative aggregator's func.yaml, unless ALERTS=off, needs
// scale min 1 and max 1.
func TestAlertingFuncScalesToOne(t *testing.T) {
	fn := func(envs, scale string) string {
		return `specVersion: 0.36.0
name: aggregator
runtime: go
namespace: tweetflow
created: 2026-11-27T00:00:00Z
invoke: cloudevent
run:
  envs:
    - name: LISTEN_ADDRESS
      value: '[::]:8080'
` + envs + `deploy:
  namespace: tweetflow
` + scale
	}
	scale := func(min, max string) string {
		return "  options:\n    scale:\n      min: " + min + "\n      max: " + max + "\n"
	}
	cases := []struct {
		name, file string
		yaml       string
		want       []string
	}{
		{name: "one pod", yaml: fn("", scale("1", "1"))},
		{name: "max 10", yaml: fn("", scale("1", "10")), want: []string{"deploy.options.scale.max: is 10, want 1"}},
		{name: "scale to zero", yaml: fn("", scale("0", "1")), want: []string{"deploy.options.scale.min: is 0, want 1"}},
		{name: "no scale (Knative: 0 to unbounded)", yaml: fn("", ""), want: []string{"scale.min: is unset", "scale.max: is unset"}},
		{name: "ALERTS=off scales freely", yaml: fn("    - name: ALERTS\n      value: 'off'\n", scale("0", "10"))},
		{name: "the alerts function, one pod", file: AlertsFunc, yaml: fn("", scale("1", "1"))},
		{name: "the alerts function, ALERTS=off does not free it", file: AlertsFunc,
			yaml: fn("    - name: ALERTS\n      value: 'off'\n", scale("1", "3")), want: []string{"deploy.options.scale.max: is 3, want 1"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			file := cmp.Or(c.file, AggregatorFunc)
			f, probs := ParseFunction(file, []byte(c.yaml))
			if f == nil || len(probs) > 0 {
				t.Fatalf("test func.yaml: %v", probs)
			}
			wantProblems(t, checkAlertingAggregators(nil, map[string]*Function{file: f}), c.want)
		})
	}
}

// wantProblems checks that got has one problem per want, in order, each containing its want.
func wantProblems(t *testing.T, got []Problem, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("got %d problems %v, want %d (%q)", len(got), got, len(want), want)
	}
	for i, w := range want {
		if !strings.Contains(got[i].String(), w) {
			t.Errorf("problem %d = %q, want it to contain %q", i, got[i], w)
		}
	}
}
