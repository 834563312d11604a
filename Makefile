# syncd — make help lists the targets.
.DEFAULT_GOAL := help
SHELL := /bin/bash

GO       ?= go
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
BIN      := bin
PKGS     := ./...
FUZZTIME ?= 20s

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*## "} /^[a-zA-Z_-]+:.*## / {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build bin/syncd and bin/pingone-emulator.
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/syncd ./cmd/syncd
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/pingone-emulator ./cmd/pingone-emulator

.PHONY: test
test: ## Run every test with the race detector (needs PostgreSQL and slapd: see .ci/run); under CI=true a skipped test fails the run.
	$(GO) build -o $(BIN)/testreport ./internal/tools/testreport
	set -o pipefail; $(GO) test -json -race -count=1 -timeout 20m $(PKGS) | $(BIN)/testreport

.PHONY: test-short
test-short: ## Run the unit tests only (no external services needed).
	$(GO) test -short -count=1 $(PKGS)

.PHONY: lint
lint: ## Check gofmt and go vet.
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt wants to change:"; echo "$$out"; exit 1; fi
	$(GO) vet $(PKGS)

.PHONY: test-chaos
test-chaos: ## Run the long reliability suite (kill -9, faults, cut reads, PostgreSQL restarts; ~5 min).
	$(GO) test -count=1 -timeout 60m -v -run . ./internal/chaos -chaos.long

BENCH_N    ?= 100000
BENCH_RATE ?= 1000
BENCH_FLAGS ?= -n $(BENCH_N) -rate $(BENCH_RATE) -latency 20ms -out bench/results.json

.PHONY: bench
bench: build ## Run the Go benchmarks once each, then the harness (BENCH_N, BENCH_RATE, BENCH_FLAGS; see README Performance); its idle row runs bin/syncd and bin/pingone-emulator.
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 1x $(PKGS)
	$(GO) build -o $(BIN)/syncd-bench ./bench/cmd/syncd-bench
	$(BIN)/syncd-bench $(BENCH_FLAGS)

.PHONY: fuzz
fuzz: ## Run every fuzz target for FUZZTIME each (default 20s).
	@set -e; for pkg in $$($(GO) list $(PKGS)); do \
	  for f in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz' || true); do \
	    echo "== $$pkg $$f"; $(GO) test -run '^$$' -fuzz "^$$f$$" -fuzztime $(FUZZTIME) $$pkg; \
	  done; \
	done

.PHONY: services
services: ## Start the throwaway test servers (slapd) on loopback.
	bash .ci/start-slapd.sh

.PHONY: demo
demo: build ## Run the demo: emulator + plan + sync of configs/demo, then a change.
	bash configs/demo/run.sh

.PHONY: clean
clean: ## Remove build output.
	rm -rf $(BIN)
