#!/usr/bin/env bash
# Adds a model to a running tweetflow cluster: a folder under models/ plus this one command
# (or `make deploy-model MODEL=name`).
#
#   REGISTRY=registry.example.com/tweetflow scripts/deploy-model.sh <model>
#
# 1. Generates functions/<function>/func.yaml from deploy/templates/func.yaml.tmpl when it is
#    missing, and appends the model's Trigger (deploy/templates/trigger.yaml.tmpl) to
#    eventing/triggers.yaml when it is not there, so the repository stays the full description
#    of the cluster (commit both).
# 2. Checks every manifest offline (make validate).
# 3. Builds the function image from functions/Dockerfile (func's builders cannot build cgo) and
#    pushes it, reading back its digest.
# 4. Applies the Trigger (with the KEDA settings func does not set), then runs
#    func deploy --path functions/<function> --image REGISTRY/tweetflow-<function>@sha256:... \
#      --build=false --push=false
#    func v0.44-v0.50 refuse a digest with --push on ("pushing is not valid when specifying an
#    image with digest", cmd/deploy.go) and, without --build=false, fail on a clone that has no
#    .func/ build stamp; func's own test deploys by digest with both flags off.
# 5. Rebuilds and redeploys the aggregator (top-level func.yaml), whose image carries every
#    models/*/model.yaml: that is how it knows which models a complete record has.
#    SKIP_AGGREGATOR=1 skips this step.
#
# <function> is the model name with "_" replaced by "-" (Kubernetes names allow no "_").
# Environment: REGISTRY (required unless DRY_RUN=1), NAMESPACE (default tweetflow),
# CONTAINER_TOOL (default docker), FUNC (default func), KUBECTL (default kubectl),
# FUNCTION_PKG (Go main package of the function; default ./functions/model, which serves any
# model chosen by MODEL_DIR),
# DRY_RUN=1 (generate and validate, print the build/deploy commands instead of running them),
# MEMORY_REQUEST, MEMORY_LIMIT, SCALE_TARGET, CONTAINER_CONCURRENCY (override model.yaml's
# deploy block, which overrides the sizing rule below).
set -euo pipefail

usage() { echo "usage: REGISTRY=host/path $0 <model>   (a folder models/<model>/: model.yaml and model.onnx, or a Hugging Face folder)" >&2; exit 2; }
[ $# -eq 1 ] || usage
model=$1
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Checked before anything is written. Same rule as event.ValidModelName: the name becomes a
# CloudEvents extension value, a SQL column prefix, an Elasticsearch field, a label value and,
# with "_" as "-", the DNS-1035 name of a Knative Service, so it ends with a letter or digit.
# The folder is the name: MODEL_DIR=/models/<model> in the image.
if ! [[ $model =~ ^[a-z]([a-z0-9_]{0,38}[a-z0-9])?$ ]]; then
  hint=
  [ -d "models/$model" ] && hint=" (a Hugging Face folder's model name is its folder's name with runs of other characters as _: rename models/$model)"
  echo "deploy-model: model name '$model' must match ^[a-z]([a-z0-9_]{0,38}[a-z0-9])?\$$hint" >&2; exit 2
fi
# functions/aggregator and functions/model are the Go entry points, and "aggregator" is the
# aggregator's Knative Service: a model of either name would overwrite one of them.
case ${model//_/-} in
  aggregator|model) echo "deploy-model: model name '$model' is reserved (functions/${model//_/-} is not a model's function)" >&2; exit 2 ;;
esac
dir=models/$model
# A folder with config.json is a Hugging Face transformer (model.yaml optional; package model,
# hf.go); any other needs model.yaml and model.onnx.
if [ -f "$dir/config.json" ]; then
  kind=transformer
  [ -f "$dir/tokenizer.json" ] || { echo "deploy-model: $dir/tokenizer.json is missing (a transformer folder)" >&2; exit 1; }
  graph=
  for g in "$dir/model.onnx" "$dir/onnx/model.onnx"; do [ -f "$g" ] && { graph=$g; break; }; done
  [ -n "$graph" ] || { echo "deploy-model: $dir has no model.onnx or onnx/model.onnx" >&2; exit 1; }
else
  for f in model.yaml model.onnx; do
    [ -f "$dir/$f" ] || { echo "deploy-model: $dir/$f is missing" >&2; exit 1; }
  done
  kind=$(sed -n 's/^kind:[[:space:]]*["'"'"']\{0,1\}\([a-z]*\).*/\1/p' "$dir/model.yaml" | head -n1)
  kind=${kind:-hashed}
  graph=$dir/model.onnx
fi

# Resources. Memory: ONNX Runtime holds the graph's weights (and, for a transformer, the
# tokenizer) plus the activations of a batch; the request is 192 MiB for the process and
# micro-batch buffers plus three times the model's files, rounded up to 64 MiB (so the built-in
# 2-3 MB models get 256Mi), the limit twice the request. Scaling: the built-in linear models
# score 10,000+ tweets/s per core, so a pod takes 64 requests in flight (KPA target) and
# queues up to 256; a transformer scores 30-3,000 tweets/s per core (docs/BENCHMARKS.md), so a
# pod takes 4 in flight and queues 16, and the autoscaler adds pods instead. Each can be set in
# the environment (MEMORY_REQUEST=2Gi, SCALE_TARGET=8, ...).
# model.yaml's optional deploy block (package model, deploy.go: checked there and by make
# validate) sits between the rule and the environment. Read as YAML block style only:
#   deploy:
#     memory_request: 2Gi
# so a flow-style `deploy: {...}`, which this reader would miss, is refused.
spec=$dir/model.yaml
if [ -f "$spec" ] && grep -Eq '^deploy:[[:space:]]*[^[:space:]#]' "$spec"; then
  echo "deploy-model: $spec: field deploy: write it as a block (deploy: then one indented key: value a line)" >&2; exit 2
fi
# deploy_field KEY prints deploy.KEY from model.yaml, quotes removed; empty when unset.
deploy_field() {
  [ -f "$spec" ] || return 0
  awk -v key="$1" '
    /^deploy:[[:space:]]*(#.*)?$/ { in_block = 1; next }
    in_block && /^[^[:space:]#]/ { in_block = 0 }
    in_block && $1 == key ":" { v = $2; gsub(/^["'"'"']|["'"'"']$/, "", v); print v; exit }
  ' "$spec"
}
yaml_memory_request=$(deploy_field memory_request) yaml_memory_limit=$(deploy_field memory_limit)
yaml_scale_target=$(deploy_field scale_target) yaml_container_concurrency=$(deploy_field container_concurrency)

bytes=$(stat -c %s "$graph")
[ "$kind" = transformer ] && bytes=$((bytes + $(stat -c %s "$dir/tokenizer.json")))
mib=$(( (bytes + 1048575) / 1048576 ))
req=$(( (192 + 3 * mib + 63) / 64 * 64 ))
memory_request=${MEMORY_REQUEST:-${yaml_memory_request:-${req}Mi}}
memory_limit=${MEMORY_LIMIT:-${yaml_memory_limit:-$((2 * req))Mi}}
if [ "$kind" = transformer ]; then
  rule_target=4 rule_concurrency=16
else
  rule_target=64 rule_concurrency=256
fi
scale_target=${SCALE_TARGET:-${yaml_scale_target:-$rule_target}}
container_concurrency=${CONTAINER_CONCURRENCY:-${yaml_container_concurrency:-$rule_concurrency}}
for v in "$memory_request" "$memory_limit"; do
  [[ $v =~ ^[0-9]+(Mi|Gi)$ ]] || { echo "deploy-model: memory '$v' must be a number of Mi or Gi" >&2; exit 2; }
done
for v in "$scale_target" "$container_concurrency"; do
  [[ $v =~ ^[1-9][0-9]*$ ]] || { echo "deploy-model: '$v' must be a positive integer (SCALE_TARGET, CONTAINER_CONCURRENCY)" >&2; exit 2; }
done
echo "deploy-model: $model is a $kind model ($mib MiB): memory $memory_request (limit $memory_limit), $scale_target in flight per pod, at most $container_concurrency" >&2

fn=${model//_/-}
namespace=${NAMESPACE:-tweetflow}
tool=${CONTAINER_TOOL:-docker}
func=${FUNC:-func}
kubectl=${KUBECTL:-kubectl}
dry=${DRY_RUN:-}
skip_aggregator=${SKIP_AGGREGATOR:-}
run() { if [ -n "$dry" ]; then printf 'would run:'; printf ' %q' "$@"; echo; else "$@"; fi; }
render() {
  sed -e "s/\${MODEL}/$model/g" -e "s/\${FUNCTION}/$fn/g" -e "s/\${MEMORY_REQUEST}/$memory_request/g" \
    -e "s/\${MEMORY_LIMIT}/$memory_limit/g" -e "s/\${SCALE_TARGET}/$scale_target/g" \
    -e "s/\${CONTAINER_CONCURRENCY}/$container_concurrency/g" "$1"
}

funcdir=functions/$fn
# What this run writes is undone if validation fails, so a rejected model leaves the tree as
# it was.
wrote_func= triggers_before=
undo() {
  [ -n "$wrote_func" ] && rm -f "$funcdir/func.yaml" && rmdir "$funcdir" 2>/dev/null
  [ -n "$triggers_before" ] && printf '%s' "$triggers_before" > eventing/triggers.yaml
  echo "deploy-model: validation failed; removed what this run generated" >&2
}
if [ ! -f "$funcdir/func.yaml" ]; then
  mkdir -p "$funcdir"
  render deploy/templates/func.yaml.tmpl > "$funcdir/func.yaml"
  wrote_func=1
  echo "deploy-model: wrote $funcdir/func.yaml (commit it)" >&2
fi
trigger=$(render deploy/templates/trigger.yaml.tmpl)
if ! grep -q "^  name: $fn-function-trigger-0\$" eventing/triggers.yaml; then
  triggers_before=$(cat eventing/triggers.yaml; printf x); triggers_before=${triggers_before%x}
  printf -- '---\n%s\n' "$trigger" >> eventing/triggers.yaml
  echo "deploy-model: added Trigger $fn-function-trigger-0 to eventing/triggers.yaml (commit it)" >&2
fi

# MAKE: the make to run `validate` with (deploy/validate's own test of this script sets it to
# `true`, since it is that validation).
"${MAKE:-make}" --no-print-directory validate || { undo; exit 1; }

pkg=${FUNCTION_PKG:-./functions/model}
if [ -z "$dry" ] && ! ls "$pkg"/*.go >/dev/null 2>&1; then
  echo "deploy-model: no Go entry point in $pkg; set FUNCTION_PKG to the function's main package" >&2; exit 1
fi

if [ -n "$dry" ]; then
  registry=${REGISTRY:-registry.invalid/tweetflow}
else
  registry=${REGISTRY:?set REGISTRY, e.g. REGISTRY=registry.example.com/tweetflow}
fi
tag=$(git describe --always --dirty 2>/dev/null || echo dev)
# build_push IMAGE DOCKER_BUILD_ARGS... builds and pushes, then prints IMAGE@sha256:...
build_push() {
  local image=$1; shift
  run "$tool" build -f functions/Dockerfile "$@" -t "$image" . >&2
  run "$tool" push "$image" >&2
  if [ -n "$dry" ]; then
    echo "${image%:*}@sha256:0000000000000000000000000000000000000000000000000000000000000000"
    return
  fi
  local ref
  ref=$("$tool" image inspect --format '{{index .RepoDigests 0}}' "$image")
  [[ $ref == *@sha256:* ]] || { echo "deploy-model: no digest for $image after push (got '$ref')" >&2; exit 1; }
  echo "$ref"
}
ref=$(build_push "$registry/tweetflow-$fn:$tag" --build-arg "MODEL=$model" --build-arg "FUNCTION_PKG=$pkg")

# The Trigger first: func deploy then finds it (AlreadyExists) and leaves the KEDA settings.
if [ -n "$dry" ]; then
  echo "would apply to namespace $namespace:"; echo "$trigger"
else
  printf '%s\n' "$trigger" | "$kubectl" apply -n "$namespace" -f -
fi
run "$func" deploy --path "$funcdir" --image "$ref" --build=false --push=false --namespace "$namespace"

if [ -z "$skip_aggregator" ]; then
  aggref=$(build_push "$registry/tweetflow-aggregator:$tag" --target aggregator)
  run "$func" deploy --path . --image "$aggref" --build=false --push=false --namespace "$namespace"
fi
if [ -n "$dry" ]; then echo "deploy-model: dry run, nothing built or deployed" >&2; else echo "deploy-model: $model deployed as $fn ($ref)" >&2; fi
echo "deploy-model: for its Kibana panels, rebuild the CLI image (--target cli), set it in k8s/image/kustomization.yaml and re-run the Kibana import Job (its pod template is immutable, so delete and create it):" >&2
echo "  $kubectl -n $namespace delete job tweetflow-kibana-import --ignore-not-found && $kubectl apply -k k8s/jobs/kibana" >&2
