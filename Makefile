# tweetflow: `make run` runs the whole pipeline on the embedded default;
# `make test` installs what the tests need and runs them.
SHELL := /bin/bash
GO ?= go
export CGO_ENABLED := 1
ORT_LIB := lib/onnxruntime/libonnxruntime.so.1.24.1
export ONNXRUNTIME_LIB ?= $(CURDIR)/$(ORT_LIB)

.PHONY: all build run test test-short race vet fmt bench ort clean

all: build

$(ORT_LIB):
	./scripts/install-onnxruntime.sh

ort: $(ORT_LIB)

build: $(ORT_LIB)
	$(GO) build -o bin/tweetflow ./cmd/tweetflow

run: build
	./bin/tweetflow run

vet:
	$(GO) vet ./...

fmt:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

test: $(ORT_LIB) fmt vet
	$(GO) test -race -count=1 ./...

bench: $(ORT_LIB)
	$(GO) test -run '^$$' -bench . -benchmem ./...

clean:
	rm -rf bin

# Retrain the shipped models from shared/data (seeded and single-threaded: a rerun writes the same
# model.onnx and the same validation metrics). DATA_DIR overrides where shared/data is.
DATA_DIR ?= ../shared/data
.PHONY: models
models: $(ORT_LIB)
	$(GO) run ./cmd/tweetflow train --model sentiment --data-dir $(DATA_DIR)
	$(GO) run ./cmd/tweetflow train --model offense --data-dir $(DATA_DIR)
