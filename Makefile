# tweetflow: `make run` runs the whole pipeline on the embedded default;
# `make test` installs what the tests need and runs them.
SHELL := /bin/bash
GO ?= go
export CGO_ENABLED := 1
ORT_LIB := lib/onnxruntime/libonnxruntime.so.1.24.1
export ONNXRUNTIME_LIB ?= $(CURDIR)/$(ORT_LIB)

.PHONY: all build run test test-short race vet fmt bench ort clean kubeconform validate deploy-model

# kubeconform checks the cluster manifests offline against k8s/schemas (package deploy/validate).
# Installed per version into bin/, so a fresh clone (CI) gets the pinned one.
KUBECONFORM_VERSION := v0.8.0
export KUBECONFORM := $(CURDIR)/bin/kubeconform-$(KUBECONFORM_VERSION)

all: build

$(ORT_LIB):
	./scripts/install-onnxruntime.sh

ort: $(ORT_LIB)

build: $(ORT_LIB)
	$(GO) build -o bin/tweetflow ./cmd/tweetflow

run: build
	./bin/tweetflow run

# The embedded pipeline's benchmark (docs/BENCHMARKS.md, "Embedded pipeline"): 1.6M generated rows,
# parse-only baseline, then both models + SQLite under /usr/bin/time -v (peak RSS).
.PHONY: bench-pipeline
BENCH_CSV ?= /tmp/tweetflow-1.6m.csv
bench-pipeline: build
	test -f $(BENCH_CSV) || ./bin/tweetflow gen --rows 1600000 --seed 1 --out $(BENCH_CSV)
	./bin/tweetflow run --parse-only --data $(BENCH_CSV)
	rm -f /tmp/tweetflow-bench.db*
	/usr/bin/time -v ./bin/tweetflow run --no-progress --data $(BENCH_CSV) --db /tmp/tweetflow-bench.db 2>&1 | grep -Ev '^\s+(Average|Socket|Signals|Swaps|File system|Page size|Exit|Minor|Major|Voluntary|Involuntary)'

# deploy/validate is its own Go module (it needs the Knative and Kubernetes API types, which the
# product module does not require), so ./... at the root does not reach it: these targets run
# it explicitly.
VALIDATE_MOD := deploy/validate

vet:
	$(GO) vet ./...
	cd $(VALIDATE_MOD) && $(GO) vet ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: $(ORT_LIB) $(KUBECONFORM) fmt vet
	$(GO) test -race -count=1 ./...
	cd $(VALIDATE_MOD) && $(GO) test -race -count=1 ./...

bench: $(ORT_LIB)
	$(GO) test -run '^$$' -bench . -benchmem ./...

$(KUBECONFORM):
	@mkdir -p bin/.kubeconform-$(KUBECONFORM_VERSION)
	GOBIN=$(CURDIR)/bin/.kubeconform-$(KUBECONFORM_VERSION) CGO_ENABLED=0 $(GO) install github.com/yannh/kubeconform/cmd/kubeconform@$(KUBECONFORM_VERSION)
	mv bin/.kubeconform-$(KUBECONFORM_VERSION)/kubeconform $@ && rmdir bin/.kubeconform-$(KUBECONFORM_VERSION)

kubeconform: $(KUBECONFORM)

# Every manifest (eventing/, k8s/), func.yaml and deploy template, checked offline: Knative kinds
# through the upstream Go types' Validate, the rest through kubeconform. `make test` runs it too.
validate: $(KUBECONFORM)
	cd $(VALIDATE_MOD) && $(GO) test -count=1 ./...

# Add a model to a cluster: make deploy-model MODEL=name REGISTRY=registry.example.com/tweetflow
deploy-model:
	./scripts/deploy-model.sh $(MODEL)

clean:
	rm -rf bin

# Retrain the shipped models from shared/data (seeded and single-threaded: a rerun writes the same
# model.onnx and the same validation metrics). DATA_DIR overrides where shared/data is.
DATA_DIR ?= ../shared/data
.PHONY: models
models: $(ORT_LIB)
	$(GO) run ./cmd/tweetflow train --model sentiment --data-dir $(DATA_DIR)
	$(GO) run ./cmd/tweetflow train --model offense --data-dir $(DATA_DIR)

# The dashboard's browser test (dashboard/browser_test.go) drives Debian's chromium headless;
# `make test` installs it once (skipped when /usr/bin/chromium exists).
.PHONY: browser screenshot
test: browser
browser:
	@test -x /usr/bin/chromium || { apt-get update && apt-get install -y --no-install-recommends chromium; }

# The Kafka interoperability test (integration/kcat_test.go) runs Debian's kcat (librdkafka);
# `make test` installs it once (skipped when /usr/bin/kcat exists).
.PHONY: kcat
test: kcat
kcat:
	@test -x /usr/bin/kcat || { apt-get update && apt-get install -y --no-install-recommends kcat; }

# The GraphML export's interoperability test (alerts/coord/netexport/graphml_test.go) reads the file
# back with networkx, and mode/network's TestToolkitLive runs the QUT toolkit itself
# (third_party/qut-coordination-network-toolkit, or $QUT_TOOLKIT), which needs regex, networkx,
# requests and urllib3: Debian's packages under /usr/bin/python3. `make test` installs them once.
.PHONY: networkx
test: networkx
networkx:
	@/usr/bin/python3 -c 'import regex, networkx, requests, urllib3' 2>/dev/null || { apt-get update && apt-get install -y --no-install-recommends python3-regex python3-networkx python3-requests python3-urllib3; }

# The Parquet export's interoperability test (export/formats_test.go) reads the file with hyparquet,
# an independent pure-JavaScript reader, under node (pyarrow cannot be installed here: no Python
# package index, no Debian 12 package). `make test` installs it from package-lock.json once.
HYPARQUET := export/testdata/hyparquet
.PHONY: hyparquet
test: hyparquet
hyparquet:
	@test -d $(HYPARQUET)/node_modules/hyparquet || npm ci --prefix $(HYPARQUET) --no-audit --no-fund

# Refresh docs/dashboard.png (shown in the README) from the browser test.
screenshot: $(ORT_LIB) browser
	TWEETFLOW_SCREENSHOT=$(CURDIR)/docs/dashboard.png $(GO) test -count=1 -run '^TestBrowser$$' ./dashboard/
