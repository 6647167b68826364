package validate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// repoRoot is the repository root, seen from this package's directory.
const repoRoot = "../.."

func kubeconform(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	bin, err := FindKubeconform(root)
	if err != nil {
		// Not a skip: CI installs it through `make test`, and an unchecked manifest is the
		// failure this package exists to prevent.
		t.Fatal(err)
	}
	return bin
}

// TestRepository is `make validate`: every committed manifest, func.yaml and template.
func TestRepository(t *testing.T) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	probs, err := CheckRepo(context.Background(), Options{Root: root, Kubeconform: kubeconform(t)})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range probs {
		t.Error(p)
	}
}

// copyRepo copies what CheckRepo reads into a temporary directory (the schemas are linked,
// not copied), so a test can break one file.
func copyRepo(t *testing.T) string {
	t.Helper()
	src, err := filepath.Abs(repoRoot)
	if err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	copyTree := func(rel string) {
		err := filepath.WalkDir(filepath.Join(src, rel), func(path string, de os.DirEntry, err error) error {
			if err != nil {
				return err
			}
			r, _ := filepath.Rel(src, path)
			if de.IsDir() {
				if filepath.ToSlash(r) == SchemaDir {
					if err := os.Symlink(path, filepath.Join(dst, r)); err != nil {
						return err
					}
					return filepath.SkipDir
				}
				return os.MkdirAll(filepath.Join(dst, r), 0o755)
			}
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			return os.WriteFile(filepath.Join(dst, r), data, 0o644)
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, rel := range []string{EventingDir, K8sDir, FunctionsDir, TemplatesDir, AggregatorFunc} {
		copyTree(rel)
	}
	// Model folders: only the spec matters here, and the ONNX files are large.
	specs, err := filepath.Glob(filepath.Join(src, "models", "*", "model.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range specs {
		r, _ := filepath.Rel(src, spec)
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dst, r)), 0o755); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(spec)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dst, r), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dst
}

// TestBrokenManifests breaks one committed file at a time and checks that CheckRepo names the
// file and the field.
func TestBrokenManifests(t *testing.T) {
	bin := kubeconform(t)
	cases := []struct {
		name     string
		file     string
		old, new string
		want     []string // all in one problem's string
	}{
		{
			// Any key under Trigger spec passes the CRD schema: only the Go type catches it.
			name: "trigger unknown field", file: "eventing/triggers.yaml",
			old:  "  broker: tweetflow\n  filter:\n    attributes:\n      type: dev.tweetflow.tweet.v1\n  subscriber:\n    ref:\n      apiVersion: serving.knative.dev/v1\n      kind: Service\n      name: sentiment",
			new:  "  brokr: tweetflow\n  filter:\n    attributes:\n      type: dev.tweetflow.tweet.v1\n  subscriber:\n    ref:\n      apiVersion: serving.knative.dev/v1\n      kind: Service\n      name: sentiment",
			want: []string{"eventing/triggers.yaml:12", "Trigger sentiment-function-trigger-0", "spec.brokr", "unknown field"},
		},
		{
			name: "trigger type not in the contract", file: "eventing/triggers.yaml",
			old: "      type: dev.tweetflow.metadata.v1", new: "      type: dev.tweetflow.metadata.v2",
			want: []string{"eventing/triggers.yaml", "Trigger aggregator-function-trigger-0", "spec.filter.attributes.type", "not a type of the event contract"},
		},
		{
			name: "broker backoff policy", file: "eventing/broker.yaml",
			old: "backoffPolicy: exponential", new: "backoffPolicy: exponentail",
			want: []string{"eventing/broker.yaml", "Broker tweetflow", "spec.delivery.backoffPolicy", "invalid value"},
		},
		{
			name: "trigger backoff delay not ISO-8601", file: "eventing/triggers.yaml",
			old: "backoffDelay: PT1S", new: "backoffDelay: 1s",
			want: []string{"eventing/triggers.yaml", "Trigger aggregator-function-trigger-0", "spec.delivery.backoffDelay"},
		},
		{
			// The webhook rejects delivery.timeout when the feature is off: the validator must
			// read the committed flags, not assume the defaults.
			name: "delivery timeout with the feature disabled", file: "k8s/knative/config-features.yaml",
			old: "delivery-timeout: enabled", new: "delivery-timeout: disabled",
			want: []string{"eventing/broker.yaml", "Broker tweetflow", "spec.delivery.timeout", "must not set"},
		},
		{
			name: "sinkbinding without subject kind", file: "eventing/sinkbinding.yaml",
			old: "    kind: Job\n", new: "",
			want: []string{"eventing/sinkbinding.yaml", "SinkBinding producer-to-broker", "spec.subject.kind"},
		},
		{
			name: "kafkasource typo (kubeconform)", file: "eventing/kafkasource.yaml",
			old: "  bootstrapServers:", new: "  bootstrapServer:",
			want: []string{"eventing/kafkasource.yaml:4", "KafkaSource tweets", "spec", "bootstrapServer"},
		},
		{
			name: "kafkatopic partitions as string (kubeconform)", file: "k8s/kafka/topics.yaml",
			old:  "  partitions: 12\n  replicas: 3\n  config:\n    retention.ms: 604800000\n    min.insync.replicas: 2\n---\n# Kafka-only",
			new:  "  partitions: \"12\"\n  replicas: 3\n  config:\n    retention.ms: 604800000\n    min.insync.replicas: 2\n---\n# Kafka-only",
			want: []string{"k8s/kafka/topics.yaml", "KafkaTopic tweets", "spec.partitions"},
		},
		{
			name: "strimzi v1beta2 has no schema (kubeconform)", file: "k8s/kafka/kafka.yaml",
			old: "apiVersion: kafka.strimzi.io/v1\nkind: Kafka\n", new: "apiVersion: kafka.strimzi.io/v1beta2\nkind: Kafka\n",
			want: []string{"k8s/kafka/kafka.yaml", "Kafka tweetflow", "could not find schema"},
		},
		{
			name: "elasticsearch typo (kubeconform)", file: "k8s/elastic/elasticsearch.yaml",
			old: "  nodeSets:", new: "  nodeSet:",
			want: []string{"k8s/elastic/elasticsearch.yaml", "Elasticsearch tweetflow", "nodeSet"},
		},
		{
			name: "ScaledObject watching another consumer group", file: "k8s/kafka-only/scaling.yaml",
			old: "consumerGroup: tweetflow-offense", new: "consumerGroup: tweetflow-offence",
			want: []string{"k8s/kafka-only/scaling.yaml", "ScaledObject kafka-function-offense", "spec.triggers[0].metadata.consumerGroup", `group "tweetflow-offense"`},
		},
		{
			name: "ScaledObject lagThreshold unquoted (kubeconform)", file: "k8s/kafka-only/scaling.yaml",
			old: `lagThreshold: "10000"`, new: `lagThreshold: 10000`,
			want: []string{"k8s/kafka-only/scaling.yaml", "ScaledObject kafka-aggregator", "spec.triggers[0].metadata.lagThreshold"},
		},
		{
			name: "KafkaSource reads a topic nobody defines", file: "eventing/kafkasource.yaml",
			old: "    - tweets\n", new: "    - tweet\n",
			want: []string{"eventing/kafkasource.yaml:", "KafkaSource tweets", "spec.topics[0]", `topic "tweet" is not a KafkaTopic`},
		},
		{
			name: "producer Job pointed at a wrong bootstrap port", file: "k8s/jobs/producer-options.yaml",
			old: "KAFKA_BROKERS: tweetflow-kafka-bootstrap.kafka.svc:9092", new: "KAFKA_BROKERS: tweetflow-kafka-bootstrap.kafka.svc:9029",
			want: []string{"k8s/jobs/producer-options.yaml", "ConfigMap producer-options", "data.KAFKA_BROKERS", `"tweetflow-kafka-bootstrap.kafka.svc:9029"`},
		},
		{
			name: "dead-letter Broker's external topic missing", file: "eventing/broker.yaml",
			old: "external.topic: tweetflow-dead-letter", new: "external.topic: tweetflow-deadletter",
			want: []string{"eventing/broker.yaml", "Broker tweetflow-dead-letter", "external.topic", `"tweetflow-deadletter"`},
		},
		{
			name: "kafka-only function produces to an undefined topic", file: "k8s/kafka-only/functions.yaml",
			old: "--out=metadata", new: "--out=metadatas",
			want: []string{"k8s/kafka-only/functions.yaml", "Deployment kafka-function-sentiment", "spec.template.spec.containers[0].args[5]", `"metadatas"`},
		},
		{
			name: "kafka alert engine scaled past one pod", file: "k8s/kafka-only/alerts.yaml",
			old: "  replicas: 1\n", new: "  replicas: 2\n",
			want: []string{"k8s/kafka-only/alerts.yaml", "Deployment kafka-alerts", "spec.replicas", "is 2"},
		},
		{
			name: "kafka alert engine rolled out with two pods", file: "k8s/kafka-only/alerts.yaml",
			old: "    type: Recreate\n", new: "    type: RollingUpdate\n",
			want: []string{"k8s/kafka-only/alerts.yaml", "Deployment kafka-alerts", "spec.strategy.type", "want Recreate"},
		},
		{
			name: "alerts topic not declared", file: "k8s/kafka/topics.yaml",
			old: "  name: alerts\n", new: "  name: alert\n",
			want: []string{"k8s/kafka-only/alerts.yaml", "Deployment kafka-alerts", `topic "alerts", which is not a KafkaTopic`},
		},
		{
			name: "records topic not declared", file: "k8s/kafka/topics.yaml",
			old: "  name: records\n", new: "  name: record\n",
			want: []string{"k8s/kafka-only/aggregator.yaml", "Deployment kafka-aggregator", `record events to topic "records", which is not a KafkaTopic`},
		},
		{
			name: "kafka aggregator running the engine again, scaled to 12", file: "k8s/kafka-only/aggregator.yaml",
			old: "            - name: ALERTS\n              value: \"off\"\n", new: "",
			want: []string{"k8s/kafka-only/scaling.yaml", "ScaledObject kafka-aggregator", "spec.maxReplicaCount", "is 12, want 1"},
		},
		{
			name: "alerts function scaled past one pod", file: "functions/alerts/func.yaml",
			old: "      min: 1\n      max: 1\n", new: "      min: 1\n      max: 10\n",
			want: []string{"functions/alerts/func.yaml", "func.yaml alerts", "deploy.options.scale.max", "is 10, want 1"},
		},
		{
			name: "alerts function scaled to zero", file: "functions/alerts/func.yaml",
			old: "      min: 1\n      max: 1\n", new: "      min: 0\n      max: 1\n",
			want: []string{"functions/alerts/func.yaml", "func.yaml alerts", "deploy.options.scale.min", "is 0, want 1"},
		},
		{
			name: "knative aggregator running the engine again, scaled to 10", file: "func.yaml",
			old: "    - name: ALERTS\n      value: \"off\"\n", new: "",
			want: []string{"func.yaml", "func.yaml aggregator", "deploy.options.scale.max", "is 10, want 1"},
		},
		{
			name: "knative aggregator emitting no record event", file: "func.yaml",
			old: "    - name: RECORD_EVENTS\n      value: \"on\"\n", new: "",
			want: []string{"func.yaml", "func.yaml aggregator", "RECORD_EVENTS is not on"},
		},
		{
			name: "manifest left out of the kustomization", file: "eventing/kustomization.yaml",
			old: "  - sinkbinding.yaml\n", new: "",
			want: []string{"eventing/sinkbinding.yaml", "not listed"},
		},
		{
			name: "kustomization lists a missing file", file: "k8s/kustomization.yaml",
			old: "  - namespaces.yaml", new: "  - namespace.yaml",
			want: []string{"k8s/kustomization.yaml", "resources[0]", "does not exist"},
		},
		{
			name: "func.yaml unknown field", file: "functions/sentiment/func.yaml",
			old: "invoke: cloudevent", new: "invok: cloudevent",
			want: []string{"functions/sentiment/func.yaml", "invok", "unknown field"},
		},
		{
			name: "func.yaml subscribed to the wrong type", file: "functions/offense/func.yaml",
			old: "type: dev.tweetflow.tweet.v1", new: "type: dev.tweetflow.metadata.v1",
			want: []string{"functions/offense/func.yaml", "deploy.subscriptions[0].filters.type", `want "dev.tweetflow.tweet.v1"`},
		},
		{
			name: "aggregator subscribed to tweets", file: "func.yaml",
			old: "type: dev.tweetflow.metadata.v1", new: "type: dev.tweetflow.tweet.v1",
			want: []string{"func.yaml", "func.yaml aggregator", "deploy.subscriptions[0].filters.type", `want "dev.tweetflow.metadata.v1"`},
		},
		{
			name: "func.yaml subscription and trigger disagree", file: "functions/sentiment/func.yaml",
			old: "- source: tweetflow", new: "- source: tweetflow-dead-letter",
			want: []string{"eventing/triggers.yaml", "Trigger sentiment-function-trigger-0", "spec.broker"},
		},
		{
			name: "func.yaml scale target below func's minimum", file: "functions/sentiment/func.yaml",
			old: "target: 64", new: "target: 0.001",
			want: []string{"functions/sentiment/func.yaml", "deploy.options.scale.target"},
		},
		{
			// Only serving's validation of the Service func would create catches this.
			name: "func.yaml concurrency above serving's limit", file: "functions/offense/func.yaml",
			old: "concurrency: 256", new: "concurrency: 5000",
			want: []string{"functions/offense/func.yaml", "Service (as func deploy creates it from func.yaml) offense", "containerConcurrency"},
		},
		{
			name: "func.yaml without its model dir", file: "functions/offense/func.yaml",
			old: "value: /models/offense", new: "value: /models/sentiment",
			want: []string{"functions/offense/func.yaml", "name", `model "sentiment" gives function name "sentiment"`},
		},
		{
			name: "func.yaml for a model that does not exist", file: "functions/offense/func.yaml",
			old: "value: /models/offense", new: "value: /models/toxicity",
			want: []string{"functions/offense/func.yaml", "run.envs", "models/toxicity/model.yaml does not exist"},
		},
		{
			name: "model spec named after another model", file: "models/offense/model.yaml",
			old: "name: offense", new: "name: sentiment",
			want: []string{"models/offense/model.yaml:", "name", `is "sentiment", want "offense"`},
		},
		{
			name: "model spec with a bad deploy block", file: "models/offense/model.yaml",
			old: "name: offense\n", new: "name: offense\ndeploy:\n  scale_target: 512\n  container_concurrency: 256\n",
			want: []string{"models/offense/model.yaml:", "field deploy.scale_target: 512 is above deploy.container_concurrency 256"},
		},
		{
			name: "func.yaml without cluster-local visibility", file: "functions/sentiment/func.yaml",
			old: "value: cluster-local", new: "value: cluster-locale",
			want: []string{"functions/sentiment/func.yaml", "deploy.labels", "networking.knative.dev/visibility: cluster-local"},
		},
		{
			name: "aggregator without cluster-local visibility", file: "func.yaml",
			old: "    - key: networking.knative.dev/visibility\n      value: cluster-local\n", new: "",
			want: []string{"func.yaml", "func.yaml aggregator", "deploy.labels", "public URL"},
		},
		{
			name: "template without cluster-local visibility", file: "deploy/templates/func.yaml.tmpl",
			old: "value: cluster-local", new: "value: external",
			want: []string{"deploy/templates/func.yaml.tmpl (rendered for model sample_model)", "deploy.labels"},
		},
		{
			name: "KafkaSource without a dead-letter sink", file: "eventing/kafkasource.yaml",
			old: "  delivery:\n    retry: 12\n    backoffPolicy: exponential\n    backoffDelay: PT1S\n    timeout: PT30S\n    deadLetterSink:\n      ref:\n        apiVersion: eventing.knative.dev/v1\n        kind: Broker\n        name: tweetflow-dead-letter\n", new: "",
			want: []string{"eventing/kafkasource.yaml:", "KafkaSource tweets", "spec.delivery.deadLetterSink", "tweet is lost"},
		},
		{
			// 10 retries from 0.5 s wait 1+2+...+512 s: over the Broker's stated 10 minutes.
			name: "Broker retries over their budget", file: "eventing/broker.yaml",
			old: "retry: 8\n    backoffPolicy: exponential\n    backoffDelay: PT0.5S", new: "retry: 10\n    backoffPolicy: exponential\n    backoffDelay: PT0.5S",
			want: []string{"eventing/broker.yaml", "Broker tweetflow", "spec.delivery", "over its budget 10m0s"},
		},
		{
			// The old aggregator setting: 10 from 1 s is 34 minutes of backoff, not 17.
			name: "aggregator Trigger retries over their budget", file: "eventing/triggers.yaml",
			old: "retry: 8\n    backoffPolicy: exponential\n    backoffDelay: PT1S", new: "retry: 10\n    backoffPolicy: exponential\n    backoffDelay: PT1S",
			want: []string{"eventing/triggers.yaml", "Trigger aggregator-function-trigger-0", "spec.delivery", "39m36s"},
		},
		{
			name: "delivery without a stated budget", file: "eventing/kafkasource.yaml",
			old: "    tweetflow.dev/retry-budget: PT2H30M\n", new: "",
			want: []string{"eventing/kafkasource.yaml", "KafkaSource tweets", "tweetflow.dev/retry-budget", "missing"},
		},
		{
			name: "a folder with its own image setting", file: "k8s/jobs/http/kustomization.yaml",
			old: "components:\n  - ../../image\n", new: "images:\n  - name: tweetflow\n    newName: registry.example.com/tweetflow/tweetflow\n    newTag: latest\n",
			want: []string{"k8s/jobs/http/kustomization.yaml", "images", "only k8s/image"},
		},
		{
			name: "a folder without the image component", file: "k8s/kafka-only/kustomization.yaml",
			old: "components:\n  - ../image\n", new: "",
			want: []string{"k8s/kafka-only/kustomization.yaml", "components", "placeholder image"},
		},
		{
			name: "Kibana import Job that cannot be re-run", file: "k8s/jobs/kibana/kibana-import.yaml",
			old: "  ttlSecondsAfterFinished: 3600\n", new: "",
			want: []string{"k8s/jobs/kibana/kibana-import.yaml", "Job tweetflow-kibana-import", "spec.ttlSecondsAfterFinished", "immutable"},
		},
		{
			name: "ScaledObject without offsetResetPolicy earliest", file: "k8s/kafka-only/scaling.yaml",
			old: "        topic: metadata\n        offsetResetPolicy: earliest\n", new: "        topic: metadata\n",
			want: []string{"k8s/kafka-only/scaling.yaml", "ScaledObject kafka-aggregator", "spec.triggers[0].metadata.offsetResetPolicy"},
		},
		{
			name: "template scale metric", file: "deploy/templates/func.yaml.tmpl",
			old: "metric: concurrency", new: "metric: cpu",
			want: []string{"deploy/templates/func.yaml.tmpl (rendered for model sample_model)", "deploy.options.scale.metric"},
		},
		{
			name: "template trigger name differs from func's", file: "deploy/templates/trigger.yaml.tmpl",
			old: "name: ${FUNCTION}-function-trigger-0", new: "name: ${MODEL}-trigger",
			want: []string{"deploy/templates/trigger.yaml.tmpl (rendered for model sample_model)", "deploy.subscriptions[0]", `no Trigger "sample-model-function-trigger-0"`},
		},
		// NetworkPolicies (k8s/network, #14 break 12).
		{
			name: "netpol: functions not selected", file: "k8s/network/networkpolicies.yaml",
			old: "      - key: serving.knative.dev/service", new: "      - key: serving.knative.dev/svc",
			want: []string{"functions/sentiment/func.yaml", "no Ingress NetworkPolicy", "any pod in the cluster"},
		},
		{
			name: "netpol: a namespace that does not deliver", file: "k8s/network/networkpolicies.yaml",
			old: "kubernetes.io/metadata.name: kourier-system", new: "kubernetes.io/metadata.name: default",
			want: []string{"k8s/network/networkpolicies.yaml", "NetworkPolicy knative-functions", "spec.ingress[0].from[1].namespaceSelector", `admits namespace "default"`},
		},
		{
			name: "netpol: every source", file: "k8s/network/networkpolicies.yaml",
			old:  "  ingress:\n    - from:\n        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: knative-serving\n        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: kourier-system",
			new:  "  ingress:\n    - {}",
			want: []string{"NetworkPolicy knative-functions", "spec.ingress[0].from", "admits every source"},
		},
		{
			name: "netpol: the namespace's own pods", file: "k8s/network/networkpolicies.yaml",
			old: "        - namespaceSelector:\n            matchLabels:\n              kubernetes.io/metadata.name: knative-serving", new: "        - podSelector: {}",
			want: []string{"NetworkPolicy knative-functions", "spec.ingress[0].from[0].podSelector", "pods of tweetflow itself"},
		},
		{
			name: "netpol: kafka-only consumers on every port", file: "k8s/network/networkpolicies.yaml",
			old: "      ports:\n        - protocol: TCP\n          port: 9090\n", new: "",
			want: []string{"NetworkPolicy kafka-consumers", "spec.ingress[0].ports", "empty"},
		},
		{
			name: "netpol: kafka-only aggregator not selected", file: "k8s/network/networkpolicies.yaml",
			old: "          - kafka-aggregator", new: "          - kafka-aggregater",
			want: []string{"k8s/kafka-only/aggregator.yaml", "Deployment kafka-aggregator", "no Ingress NetworkPolicy"},
		},
		// The SASL overlays (k8s/sasl, #14 break 7): rendered with kustomize and checked whole.
		{
			name: "sasl: KEDA reads a key the Secret does not have", file: "k8s/sasl/kafka-only/triggerauthentication.yaml",
			old: "      key: ca.crt", new: "      key: ca",
			want: []string{"k8s/sasl/kafka-only (kustomize build)", "TriggerAuthentication tweetflow-kafka-sasl", "spec.secretTargetRef[2]", `Secret tweetflow-kafka-sasl has no key "ca"`},
		},
		{
			name: "sasl: KafkaSource mechanism key misspelt", file: "k8s/sasl/knative/kustomization.yaml",
			old: "                key: sasl.mechanism", new: "                key: mechanism",
			want: []string{"k8s/sasl/knative (kustomize build)", "KafkaSource tweets", "spec.net.sasl.type.secretKeyRef", `no key "mechanism"`},
		},
		{
			name: "sasl: template without the CA the Broker needs", file: KafkaSASLTemplate,
			old: "  ca.crt: |\n    CHANGE_ME_CA_PEM\n", new: "",
			want: []string{"k8s/sasl/knative (kustomize build)", "ConfigMap tweetflow-kafka-broker-config", "data.auth.secret.ref.name", `no key "ca.crt"`},
		},
		{
			name: "sasl: KafkaSource left on the plain listener", file: "k8s/sasl/knative/kustomization.yaml",
			old: "        value:\n          - tweetflow-kafka-bootstrap.kafka.svc:9093", new: "        value:\n          - tweetflow-kafka-bootstrap.kafka.svc:9092",
			want: []string{"k8s/sasl/knative (kustomize build)", "KafkaSource tweets", "spec.bootstrapServers[0]", "not a TLS + SCRAM-SHA-512 listener"},
		},
		{
			// kustomize skips a patch whose target matches nothing, without a word.
			name: "sasl: patch target matches nothing", file: "k8s/sasl/knative/kustomization.yaml",
			old: "      kind: KafkaSource\n      name: tweets", new: "      kind: KafkaSource\n      name: tweet",
			want: []string{"k8s/sasl/knative (kustomize build)", "KafkaSource tweets", "spec.net", "needs sasl"},
		},
		{
			name: "sasl: ScaledObject without its TriggerAuthentication", file: "k8s/sasl/kafka-only/kustomization.yaml",
			old: "        value:\n          name: tweetflow-kafka-sasl", new: "        value:\n          name: tweetflow-kafka",
			want: []string{"k8s/sasl/kafka-only (kustomize build)", "ScaledObject kafka-aggregator", "spec.triggers[0].authenticationRef"},
		},
		{
			name: "sasl: CA file not mounted", file: "k8s/sasl/kafka-only/kustomization.yaml",
			old: "value: /etc/tweetflow/kafka-ca/ca.crt", new: "value: /etc/kafka-ca/ca.crt",
			want: []string{"k8s/sasl/kafka-only (kustomize build)", "Deployment kafka-function-", "KAFKA_TLS_CA", "volumeMounts"},
		},
		{
			name: "sasl: producer without TLS", file: "k8s/sasl/jobs/kustomization.yaml",
			old: "        path: /data/KAFKA_TLS\n        value: \"true\"", new: "        path: /data/KAFKA_TLS\n        value: \"false\"",
			want: []string{"k8s/sasl/jobs (kustomize build)", "Job tweetflow-producer", "KAFKA_TLS is \"false\""},
		},
		{
			// kustomize also passes a JSON patch that replaces a field the object lacks.
			name: "sasl: patch path that is not there", file: "k8s/sasl/kafka-only/kustomization.yaml",
			old: "path: /spec/triggers/0/metadata/bootstrapServers", new: "path: /spec/triggers/0/metadata/bootstrapServer",
			want: []string{"k8s/sasl/kafka-only (kustomize build)", "ScaledObject kafka-aggregator", "metadata.bootstrapServers", "not a TLS + SCRAM-SHA-512 listener"},
		},
		{
			name: "sasl: patch kustomize refuses", file: "k8s/sasl/kafka-only/kustomization.yaml",
			old: "      - op: replace\n        path: /spec/triggers/0", new: "      - op: rplace\n        path: /spec/triggers/0",
			want: []string{"k8s/sasl/kafka-only/kustomization.yaml", "kustomize build"},
		},
		{
			name: "sasl: KafkaUser schema", file: "k8s/sasl/user/kafkauser.yaml",
			old: "    type: scram-sha-512", new: "    type: scram-sha-256",
			want: []string{"k8s/sasl/user/kafkauser.yaml", "KafkaUser tweetflow", "spec.authentication.type"},
		},
		{
			name: "sasl: TriggerAuthentication schema", file: "k8s/sasl/kafka-only/triggerauthentication.yaml",
			old: "  secretTargetRef:", new: "  secretTargetRefs:",
			want: []string{"k8s/sasl/kafka-only/triggerauthentication.yaml", "TriggerAuthentication tweetflow-kafka-sasl", "secretTargetRefs"},
		},
		{
			// The base manifests are checked against the templates too.
			name: "producer reads a key the SASL Secret does not have", file: "k8s/jobs/producer.yaml",
			old: "                  key: user\n", new: "                  key: username\n",
			want: []string{"k8s/jobs/producer.yaml", "Job tweetflow-producer", "valueFrom.secretKeyRef", `no key "username"`},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			root := copyRepo(t)
			path := filepath.Join(root, tc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(string(data), tc.old) {
				t.Fatalf("%s does not contain %q: update the test with the manifest", tc.file, tc.old)
			}
			broken := strings.Replace(string(data), tc.old, tc.new, 1)
			if err := os.WriteFile(path, []byte(broken), 0o644); err != nil {
				t.Fatal(err)
			}
			probs, err := CheckRepo(context.Background(), Options{Root: root, Kubeconform: bin})
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range probs {
				if containsAll(p.String(), tc.want) {
					return
				}
			}
			var got []string
			for _, p := range probs {
				got = append(got, p.String())
			}
			t.Errorf("no problem contains all of %q; got:\n%s", tc.want, strings.Join(got, "\n"))
		})
	}
}

func containsAll(s string, subs []string) bool {
	for _, sub := range subs {
		if !strings.Contains(s, sub) {
			return false
		}
	}
	return true
}

func TestSplitDocumentsLines(t *testing.T) {
	in := "# only a comment\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n---\n\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: b, namespace: ns1}\n"
	docs, probs := SplitDocuments("x.yaml", []byte(in))
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	if len(docs) != 2 {
		t.Fatalf("got %d documents, want 2", len(docs))
	}
	if docs[0].Line != 3 || docs[0].Kind != "ConfigMap" || docs[0].Name != "a" {
		t.Errorf("doc 0 = line %d %s %s", docs[0].Line, docs[0].Kind, docs[0].Name)
	}
	if docs[1].Line != 10 || docs[1].Kind != "Secret" || docs[1].Name != "b" || docs[1].Namespace != "ns1" {
		t.Errorf("doc 1 = line %d %s %s/%s", docs[1].Line, docs[1].Kind, docs[1].Namespace, docs[1].Name)
	}
	_, probs = SplitDocuments("y.yaml", []byte("apiVersion: v1\n---\n- a list\n"))
	if len(probs) != 1 || probs[0].Line != 3 || !strings.Contains(probs[0].String(), "y.yaml:3") {
		t.Errorf("a list document: got %v, want one problem at y.yaml:3", probs)
	}
}

func TestStrictDecodeNamesNestedUnknownFields(t *testing.T) {
	var f Function
	unknown, err := strictDecode([]byte("specVersion: 0.36.0\ncreated: 2026-11-27T00:00:00Z\ndeploy:\n  options:\n    scale: {min: 0, maxx: 3}\n  subscriptions:\n    - source: b\n      filter: {type: x}\n"), &f)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"deploy.options.scale.maxx", "deploy.subscriptions[0].filter"}
	if strings.Join(unknown, ",") != strings.Join(want, ",") {
		t.Errorf("unknown = %v, want %v", unknown, want)
	}
	_, err = strictDecode([]byte("name: a\nname: b\n"), &f)
	if err == nil || !strings.Contains(err.Error(), "name") {
		t.Errorf("duplicate key: err = %v, want an error naming the key", err)
	}
}

// FuzzSplitDocuments: whatever the bytes, splitting never panics and every document or
// problem points at a line inside the input.
func FuzzSplitDocuments(f *testing.F) {
	for _, s := range []string{
		"", "---", "a: b\n---\nc: d", "- x\n---\n{", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"\xff\xfe---\n\x00", "a: &x [*x]\n", "--- \n---\t\n",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		lines := strings.Count(string(data), "\n") + 1
		docs, probs := SplitDocuments("f.yaml", data)
		for _, d := range docs {
			if d.Line < 1 || d.Line > lines {
				t.Fatalf("document line %d outside 1..%d", d.Line, lines)
			}
		}
		for _, p := range probs {
			if p.Line < 1 || p.Line > lines {
				t.Fatalf("problem line %d outside 1..%d", p.Line, lines)
			}
		}
	})
}

// FuzzParseFunction: a func.yaml parser that never panics, and that either returns a
// function or says why not.
func FuzzParseFunction(f *testing.F) {
	seed, err := os.ReadFile(filepath.Join(repoRoot, "functions", "sentiment", "func.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(seed)
	f.Add([]byte("specVersion: 0.36.0\n"))
	f.Add([]byte("deploy: {options: {scale: {min: -1, max: -2, target: 0}}}\nrun: {volumes: [{}], envs: [{}]}\n"))
	f.Add([]byte("- not a map"))
	f.Fuzz(func(t *testing.T, data []byte) {
		fn, probs := ParseFunction("func.yaml", data)
		if fn == nil && len(probs) == 0 {
			t.Fatal("no function and no problem")
		}
		if fn != nil {
			_ = CheckFunction("func.yaml", fn, "dev.tweetflow.tweet.v1", []string{"tweetflow"})
			if _, err := FuncService(fn); err != nil && len(probs) == 0 {
				t.Fatalf("FuncService failed (%v) on a func.yaml ParseFunction accepted", err)
			}
		}
	})
}

// TestDockerfileReferences checks what functions/Dockerfile builds and copies against the
// repository, since no image can be built here: the Go main packages of its build args, the
// files it copies, and the ONNX Runtime version pinned by scripts/install-onnxruntime.sh.
func TestDockerfileReferences(t *testing.T) {
	data, err := os.ReadFile(filepath.Join(repoRoot, "functions", "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	df := string(data)
	mainPkg := func(pkg string) {
		t.Helper()
		dir := filepath.Join(repoRoot, filepath.FromSlash(strings.TrimPrefix(pkg, "./")))
		files, _ := filepath.Glob(filepath.Join(dir, "*.go"))
		for _, f := range files {
			src, err := os.ReadFile(f)
			if err == nil && strings.Contains(string(src), "package main") {
				return
			}
		}
		t.Errorf("functions/Dockerfile builds %s, which is not a main package", pkg)
	}
	for _, arg := range []string{"FUNCTION_PKG", "AGGREGATOR_PKG"} {
		i := strings.Index(df, "ARG "+arg+"=")
		if i < 0 {
			t.Errorf("functions/Dockerfile: no default for ARG %s", arg)
			continue
		}
		line, _, _ := strings.Cut(df[i+len("ARG "+arg+"="):], "\n")
		mainPkg(strings.TrimSpace(line))
	}
	mainPkg("./cmd/tweetflow")
	for copyLine, paths := range map[string][]string{
		"COPY scripts/install-onnxruntime.sh": {"scripts/install-onnxruntime.sh"},
		"COPY go.mod go.sum":                  {"go.mod", "go.sum"},
		"COPY data/":                          {"data/sample.csv"},
		"COPY models/":                        {"models"},
	} {
		if !strings.Contains(df, copyLine) {
			t.Errorf("functions/Dockerfile no longer has %q: update this test", copyLine)
		}
		for _, p := range paths {
			if _, err := os.Stat(filepath.Join(repoRoot, p)); err != nil {
				t.Errorf("functions/Dockerfile copies %s: %v", p, err)
			}
		}
	}
	script, err := os.ReadFile(filepath.Join(repoRoot, "scripts", "install-onnxruntime.sh"))
	if err != nil {
		t.Fatal(err)
	}
	var version string
	for _, l := range strings.Split(string(script), "\n") {
		if v, ok := strings.CutPrefix(l, "VERSION="); ok {
			version = strings.TrimSpace(v)
		}
	}
	if version == "" {
		t.Fatal("scripts/install-onnxruntime.sh: no VERSION= line")
	}
	if want := "libonnxruntime.so." + version; strings.Count(df, want) < 3 {
		t.Errorf("functions/Dockerfile must copy and point ONNXRUNTIME_LIB at %s (the version the install script pins)", want)
	}
	for _, must := range []string{"CGO_ENABLED=1", "USER 65532:65532", "LISTEN_ADDRESS=[::]:8080", "ENV MODEL_DIR=/models/${MODEL}"} {
		if !strings.Contains(df, must) {
			t.Errorf("functions/Dockerfile lacks %q", must)
		}
	}
}

// BenchmarkCheckRepo measures `make validate`'s work once compiled: every manifest, func.yaml
// and template, kubeconform included.
func BenchmarkCheckRepo(b *testing.B) {
	root, err := filepath.Abs(repoRoot)
	if err != nil {
		b.Fatal(err)
	}
	bin, err := FindKubeconform(root)
	if err != nil {
		b.Fatal(err)
	}
	opt := Options{Root: root, Kubeconform: bin}
	m, _, err := loadManifests(root)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		probs, err := CheckRepo(context.Background(), opt)
		if err != nil || len(probs) > 0 {
			b.Fatalf("CheckRepo: %v %v", err, probs)
		}
	}
	b.ReportMetric(float64(len(m.Docs)+len(m.Functions)), "objects")
}
