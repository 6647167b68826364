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
