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
# DRY_RUN=1 (generate and validate, print the build/deploy commands instead of running them).
set -euo pipefail

usage() { echo "usage: REGISTRY=host/path $0 <model>   (a folder models/<model>/ with model.yaml and model.onnx)" >&2; exit 2; }
[ $# -eq 1 ] || usage
model=$1
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"

# Checked before anything is written. Same rule as event.ValidModelName: the name becomes a
# CloudEvents extension value, a SQL column prefix, an Elasticsearch field, a label value and,
# with "_" as "-", the DNS-1035 name of a Knative Service, so it ends with a letter or digit.
if ! [[ $model =~ ^[a-z]([a-z0-9_]{0,38}[a-z0-9])?$ ]]; then
  echo "deploy-model: model name '$model' must match ^[a-z]([a-z0-9_]{0,38}[a-z0-9])?\$" >&2; exit 2
fi
# functions/aggregator and functions/model are the Go entry points, and "aggregator" is the
# aggregator's Knative Service: a model of either name would overwrite one of them.
case ${model//_/-} in
  aggregator|model) echo "deploy-model: model name '$model' is reserved (functions/${model//_/-} is not a model's function)" >&2; exit 2 ;;
esac
for f in model.yaml model.onnx; do
  [ -f "models/$model/$f" ] || { echo "deploy-model: models/$model/$f is missing" >&2; exit 1; }
done

fn=${model//_/-}
namespace=${NAMESPACE:-tweetflow}
tool=${CONTAINER_TOOL:-docker}
func=${FUNC:-func}
kubectl=${KUBECTL:-kubectl}
dry=${DRY_RUN:-}
skip_aggregator=${SKIP_AGGREGATOR:-}
run() { if [ -n "$dry" ]; then printf 'would run:'; printf ' %q' "$@"; echo; else "$@"; fi; }
render() { sed -e "s/\${MODEL}/$model/g" -e "s/\${FUNCTION}/$fn/g" "$1"; }

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
