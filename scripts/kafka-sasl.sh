#!/usr/bin/env bash
# Puts tweetflow on the Strimzi Kafka's TLS + SCRAM-SHA-512 listener (:9093) in one command:
#
#   scripts/kafka-sasl.sh knative      # instead of kubectl apply -k eventing/
#   scripts/kafka-sasl.sh kafka-only   # instead of kubectl apply -k k8s/kafka-only
#   scripts/kafka-sasl.sh jobs         # instead of kubectl apply -k k8s/jobs
#
# 1. Applies the KafkaUser (k8s/sasl/user) and waits until Strimzi's User Operator has made it
#    and its Secret (namespace kafka, the user's name; key password).
# 2. Writes the Secret tweetflow-kafka-sasl in namespace tweetflow, in Knative's Kafka auth
#    Secret format (the keys of k8s/secrets/kafka-sasl.template.yaml): protocol SASL_SSL,
#    sasl.mechanism SCRAM-SHA-512, the user and password Strimzi made, and ca.crt, the cluster
#    CA certificate (Secret tweetflow-cluster-ca-cert in namespace kafka). Strimzi writes both
#    only in the Kafka's namespace, and Knative, KEDA and pods read Secrets only in their own,
#    hence the copy. Re-run after Strimzi renews its cluster CA.
# 3. Applies the overlay k8s/sasl/<mode>.
#
# The password goes through a private temporary file, never a command line (ps shows those).
# Environment: KUBECTL (default kubectl), NAMESPACE (default tweetflow), KAFKA_NAMESPACE
# (default kafka), KAFKA_CLUSTER (default tweetflow), KAFKA_USER (default tweetflow),
# WAIT_TIMEOUT (default 5m).
set -euo pipefail

usage() { echo "usage: $0 knative|kafka-only|jobs" >&2; exit 2; }
[ $# -eq 1 ] || usage
case $1 in knative|kafka-only|jobs) mode=$1 ;; *) usage ;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

kubectl=${KUBECTL:-kubectl}
ns=${NAMESPACE:-tweetflow}
kns=${KAFKA_NAMESPACE:-kafka}
cluster=${KAFKA_CLUSTER:-tweetflow}
user=${KAFKA_USER:-tweetflow}
secret=tweetflow-kafka-sasl

"$kubectl" apply -k k8s/sasl/user
"$kubectl" -n "$kns" wait "kafkauser/$user" --for=condition=Ready --timeout="${WAIT_TIMEOUT:-5m}"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
chmod 700 "$tmp"
# Strimzi's user name (status.username) is the KafkaUser's name unless spec.userName says
# otherwise; read it rather than assume it.
username=$("$kubectl" -n "$kns" get "kafkauser/$user" -o 'jsonpath={.status.username}')
[ -n "$username" ] || { echo "$0: kafkauser/$user in namespace $kns has no status.username yet" >&2; exit 1; }
usersecret=$("$kubectl" -n "$kns" get "kafkauser/$user" -o 'jsonpath={.status.secret}')
[ -n "$usersecret" ] || usersecret=$user
"$kubectl" -n "$kns" get "secret/$usersecret" -o 'jsonpath={.data.password}' | base64 -d >"$tmp/password"
"$kubectl" -n "$kns" get "secret/$cluster-cluster-ca-cert" -o 'jsonpath={.data.ca\.crt}' | base64 -d >"$tmp/ca.crt"
[ -s "$tmp/password" ] || { echo "$0: secret/$usersecret in namespace $kns has no password" >&2; exit 1; }
grep -q 'BEGIN CERTIFICATE' "$tmp/ca.crt" || { echo "$0: secret/$cluster-cluster-ca-cert in namespace $kns has no PEM ca.crt" >&2; exit 1; }

"$kubectl" -n "$ns" create secret generic "$secret" \
  --from-literal=protocol=SASL_SSL \
  --from-literal=sasl.mechanism=SCRAM-SHA-512 \
  --from-literal=user="$username" \
  --from-file=password="$tmp/password" \
  --from-file=ca.crt="$tmp/ca.crt" \
  --dry-run=client -o yaml >"$tmp/secret.yaml"
"$kubectl" apply -f "$tmp/secret.yaml"

"$kubectl" apply -k "k8s/sasl/$mode"
echo "tweetflow now uses $secret (user $username) on the TLS + SCRAM-SHA-512 listener: k8s/sasl/$mode applied"
