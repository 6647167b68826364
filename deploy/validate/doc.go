// Package validate checks tweetflow's cluster manifests (eventing/, k8s/) and func.yaml files
// offline, the way the cluster would, so that CI fails on a broken manifest before anyone
// applies it:
//
//   - Knative objects (Broker, Trigger, SinkBinding, ContainerSource, PingSource,
//     ApiServerSource, Knative Service) are strict-decoded into the upstream Go types
//     (knative.dev/eventing v0.50.0, knative.dev/serving v0.50.0), defaulted and validated with
//     their own SetDefaults and Validate, keeping errors (not warnings), under the feature flags
//     committed in k8s/knative/config-features.yaml, as the admission webhook would.
//   - Everything else (KafkaSource, Strimzi, ECK, KEDA, built-in kinds) goes through
//     kubeconform with the strict JSON schemas committed in k8s/schemas/.
//   - func.yaml files are strict-decoded into a mirror of func v0.44's schema, their
//     subscriptions are checked against the event contract (package event) and against the
//     Triggers in eventing/, and the Knative Service that `func deploy` would create from them is
//     validated with the serving types.
//
// Every problem names the file, the line where its YAML document starts, the object and the
// field.
package validate
