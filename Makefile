# The two commands a newcomer needs: `make run` and `make test`.

GO       ?= go
VERSION  ?= $(shell git describe --always --dirty 2>/dev/null || echo dev)
LDFLAGS  := -s -w -X main.version=$(VERSION)
# Fuzz targets run this long each under `make fuzz`.
FUZZTIME ?= 60s

.PHONY: run test build bench bench-webhook bench-noisy bench-lifecycle fuzz clean

## run: start PostgreSQL (if DATABASE_URL is unset), Gatekey, the workers and a fake Telegram with a demo tenant
run: build
	@scripts/with-postgres.sh run ./bin/gatekey dev

## test: make sure PostgreSQL runs, then run every test with the race detector
test:
	@GO=$(GO) scripts/ensure-stripe-mock.sh >/dev/null
	@scripts/ensure-chromium.sh
	@scripts/with-postgres.sh test $(GO) test -race -timeout 30m ./...

## build: the gatekey binary in ./bin
build:
	CGO_ENABLED=0 $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o bin/gatekey ./cmd/gatekey

## bench: the benchmarks quoted in the issues' notes
bench:
	@scripts/with-postgres.sh test $(GO) test -run '^$$' -bench . -benchtime 5s ./...

## bench-webhook: the webhook's throughput and latency beside pgbench's TPC-B rate (issue 2)
bench-webhook:
	@GO=$(GO) scripts/with-postgres.sh test scripts/bench-webhook.sh


## bench-noisy: one flooding bot beside 50 quiet ones (issue 8)
bench-noisy:
	@scripts/with-postgres.sh test $(GO) test -run '^$$' -bench NoisyBot -benchtime 1x ./webhooks/

## bench-lifecycle: activations through the webhook (issue 3) and expiring 100,000 memberships (issue 4)
bench-lifecycle:
	@scripts/with-postgres.sh test $(GO) test -run '^$$' -bench 'Activation|Expiry' -benchtime 1x -timeout 60m -p 1 ./bot/ ./jobs/

## fuzz: every fuzz target for FUZZTIME each (make test runs their seed corpora only)
fuzz:
	@FUZZTIME=$(FUZZTIME) scripts/with-postgres.sh test scripts/fuzz.sh

clean:
	rm -rf bin .data
