package validate

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/tweetflow/tweetflow/internal/commalist"
)

// Kafka names travel between unrelated objects (a KafkaSource's topic, a Job's environment, a
// Deployment's flags, a Broker annotation) that no schema links, and a typo in one of them
// fails silently on a cluster: nothing is consumed. checkKafkaRefs ties them to the Strimzi
// resources that define them.

type strimziKafka struct {
	Spec struct {
		Kafka struct {
			Listeners []struct {
				Port           int  `json:"port"`
				TLS            bool `json:"tls"`
				Authentication struct {
					Type string `json:"type"`
				} `json:"authentication"`
			} `json:"listeners"`
		} `json:"kafka"`
	} `json:"spec"`
}

type kafkaTopic struct {
	Spec struct {
		TopicName  string `json:"topicName"`
		Partitions int    `json:"partitions"`
	} `json:"spec"`
}

type kafkaSource struct {
	Spec struct {
		BootstrapServers []string `json:"bootstrapServers"`
		Topics           []string `json:"topics"`
		Consumers        int      `json:"consumers"`
	} `json:"spec"`
}

// checkKafkaRefs checks every bootstrap address and topic name used in the manifests against
// the Strimzi Kafka clusters and KafkaTopics defined there (when any are: a manifest set for an
// external Kafka is not checked).
func checkKafkaRefs(docs []Document) []Problem { return kafkaRefs(docs, false) }

// kafkaRefs is checkKafkaRefs; with saslOnly, only the Strimzi listeners with TLS and
// SCRAM-SHA-512 count, so a client left on the plain listener in a SASL overlay is a problem.
func kafkaRefs(docs []Document, saslOnly bool) []Problem {
	bootstrap := map[string]bool{}
	what := "a listener"
	if saslOnly {
		what = "a TLS + SCRAM-SHA-512 listener"
	}
	topics := map[string]int{} // name -> partitions
	for _, d := range docs {
		switch {
		case d.APIVersion == "kafka.strimzi.io/v1" && d.Kind == "Kafka":
			var k strimziKafka
			if yaml.Unmarshal(d.Raw, &k) != nil {
				continue
			}
			for _, l := range k.Spec.Kafka.Listeners {
				if saslOnly && (!l.TLS || l.Authentication.Type != "scram-sha-512") {
					continue
				}
				svc := d.Name + "-kafka-bootstrap." + d.Namespace
				for _, host := range []string{svc, svc + ".svc", svc + ".svc.cluster.local"} {
					bootstrap[fmt.Sprintf("%s:%d", host, l.Port)] = true
				}
			}
		case d.APIVersion == "kafka.strimzi.io/v1" && d.Kind == "KafkaTopic":
			var t kafkaTopic
			if yaml.Unmarshal(d.Raw, &t) != nil {
				continue
			}
			name := t.Spec.TopicName
			if name == "" {
				name = d.Name
			}
			topics[name] = t.Spec.Partitions
		}
	}
	if len(bootstrap) == 0 || len(topics) == 0 {
		return nil
	}
	var probs []Problem
	servers := func(d Document, field, list string) {
		for _, s := range commalist.Split(list) {
			if !bootstrap[s] {
				probs = append(probs, d.problem(field, "bootstrap server %q is not %s of the Strimzi Kafka defined in %s/ (have %s)", s, what, K8sDir, strings.Join(sortedKeys(bootstrap), ", ")))
			}
		}
	}
	topic := func(d Document, field, name string) {
		if _, ok := topics[name]; !ok {
			probs = append(probs, d.problem(field, "topic %q is not a KafkaTopic in %s/ (have %s)", name, K8sDir, strings.Join(sortedKeys(topics), ", ")))
		}
	}
	envs := func(d Document, field string, env []corev1.EnvVar) {
		for i, e := range env {
			at := fmt.Sprintf("%s.env[%d].value", field, i)
			switch e.Name {
			case "KAFKA_BROKERS":
				servers(d, at, e.Value)
			case "KAFKA_TOPIC":
				topic(d, at, e.Value)
			}
		}
	}
	args := func(d Document, field string, args []string) {
		for i, a := range args {
			for _, flag := range []string{"--in=", "--out=", "--topic=", "--dead-letter-topic="} {
				if v, ok := strings.CutPrefix(a, flag); ok && !strings.Contains(v, "$(") {
					topic(d, fmt.Sprintf("%s.args[%d]", field, i), v)
				}
			}
		}
	}
	containers := func(d Document, field string, cs []corev1.Container) {
		for i, c := range cs {
			at := fmt.Sprintf("%s.containers[%d]", field, i)
			envs(d, at, c.Env)
			args(d, at, c.Args)
		}
	}
	for _, d := range docs {
		switch {
		case d.Kind == "KafkaSource":
			var s kafkaSource
			if yaml.Unmarshal(d.Raw, &s) != nil {
				continue
			}
			for i, b := range s.Spec.BootstrapServers {
				servers(d, fmt.Sprintf("spec.bootstrapServers[%d]", i), b)
			}
			for i, t := range s.Spec.Topics {
				topic(d, fmt.Sprintf("spec.topics[%d]", i), t)
				if p, ok := topics[t]; ok && s.Spec.Consumers > p {
					probs = append(probs, d.problem("spec.consumers", "%d consumers for topic %q of %d partitions: the extra ones sit idle", s.Spec.Consumers, t, p))
				}
			}
		case d.Kind == "Broker" && d.APIVersion == "eventing.knative.dev/v1":
			var h struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			}
			if yaml.Unmarshal(d.Raw, &h) == nil {
				if t, ok := h.Metadata.Annotations["kafka.eventing.knative.dev/external.topic"]; ok {
					topic(d, "metadata.annotations[kafka.eventing.knative.dev/external.topic]", t)
				}
			}
		case d.Kind == "ConfigMap" && d.APIVersion == "v1":
			var cm corev1.ConfigMap
			if yaml.Unmarshal(d.Raw, &cm) != nil {
				continue
			}
			for _, k := range sortedKeys(cm.Data) {
				switch k {
				case "bootstrap.servers", "KAFKA_BROKERS":
					servers(d, "data."+k, cm.Data[k])
				case "KAFKA_TOPIC":
					topic(d, "data."+k, cm.Data[k])
				}
			}
		case d.Kind == "Deployment" && d.APIVersion == "apps/v1":
			var dep appsv1.Deployment
			if yaml.Unmarshal(d.Raw, &dep) == nil {
				containers(d, "spec.template.spec", dep.Spec.Template.Spec.Containers)
			}
		case d.Kind == "Job" && d.APIVersion == "batch/v1":
			var job batchv1.Job
			if yaml.Unmarshal(d.Raw, &job) == nil {
				containers(d, "spec.template.spec", job.Spec.Template.Spec.Containers)
			}
		case d.Kind == "ScaledObject":
			kafkaTriggers(d, func(i int, tr scaledTrigger) {
				at := fmt.Sprintf("spec.triggers[%d].metadata", i)
				servers(d, at+".bootstrapServers", tr.Metadata["bootstrapServers"])
				topic(d, at+".topic", tr.Metadata["topic"])
			})
		}
	}
	return probs
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }
