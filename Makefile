# Developer entry points. `make run` and `make test` are the README's two
# commands for a fresh machine.

GO ?= go
FUZZTIME ?= 20s

.PHONY: run test test-short bench bench-load bench-realtime bench-files lint fuzz vet fmt layers screenshots ts-client release

## run: start the gateway on the embedded store (data in ./data)
run:
	$(GO) run ./cmd/gateway

## test: the whole suite with the race detector (gofmt and vet first)
test: fmt vet
	$(GO) test -race -count=1 -timeout 20m ./...

## test-short: skip the slower end-to-end binary tests
test-short:
	$(GO) test -short ./...

vet:
	$(GO) vet ./...

fmt:
	@out="$$(gofmt -l .)"; if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi

## bench: micro-benchmarks of the hot path
bench:
	$(GO) test -run '^$$' -bench . -benchmem ./...

## bench-load: the load harness; writes docs/PERFORMANCE.md
bench-load:
	$(GO) run ./cmd/loadgen -duration 5s -concurrency 16 -docs 2000 -out docs/PERFORMANCE.md

## bench-realtime: 10,000 event streams on the gateway and on PocketBase; writes its section of docs/PERFORMANCE.md
bench-realtime:
	$(GO) run ./cmd/loadgen -realtime -streams 10000 -writes 15 -out docs/PERFORMANCE.md

## bench-files: 1 MB uploads and downloads and thumbnails on the gateway and on PocketBase; writes its section of docs/PERFORMANCE.md
bench-files:
	$(GO) run ./cmd/loadgen -files -uploads 200 -concurrency 8 -out docs/PERFORMANCE.md

## screenshots: the console's browser test, writing a screenshot of every view to docs/console
screenshots:
	GATEWAY_SCREENSHOTS=$(CURDIR)/docs/console $(GO) test -count=1 -run 'TestConsoleInBrowser|TestConsoleAccountsInBrowser|TestConsoleFilesInBrowser' ./cmd/gateway

## ts-client: regenerate the types made from a started gateway's description (the example app's, openapi-typescript's), then test them
ts-client:
	$(GO) test -count=1 -run 'TestExampleAppOnTheSDK|TestServedDescriptionWithOtherTools' ./cmd/gateway -update-client

## lint: golangci-lint v2 with the repository's configuration
lint:
	$(GO) run github.com/golangci/golangci-lint/v2/cmd/golangci-lint@v2.15.0 run ./...

## fuzz: each fuzz target for FUZZTIME
fuzz:
	$(GO) test -run '^$$' -fuzz '^FuzzParseEnvelope$$' -fuzztime $(FUZZTIME) ./resources
	$(GO) test -run '^$$' -fuzz '^FuzzFilterObject$$' -fuzztime $(FUZZTIME) ./resources
	$(GO) test -run '^$$' -fuzz '^FuzzReadArchive$$' -fuzztime $(FUZZTIME) ./resources
	$(GO) test -run '^$$' -fuzz '^FuzzParseAuthHeader$$' -fuzztime $(FUZZTIME) ./gateway
	$(GO) test -run '^$$' -fuzz '^FuzzOpenPayload$$' -fuzztime $(FUZZTIME) ./crypto

## layers: what each layer depends on among the module's packages (go list -deps);
## resources TestImportDirection fails the tests if the direction breaks
layers:
	@for p in cmd/gateway gateway resources/account resources/wallet resources/admin resources policy crypto; do \
	  echo "$$p →"; \
	  $(GO) list -deps -f '{{.ImportPath}}' ./$$p | grep '^github.com/tnt/gateway/' | grep -v "^github.com/tnt/gateway/$$p$$" | \
	    grep -v -e '/session/' -e '/sqlite$$' -e '/mongo$$' -e '/wechat$$' -e '/timed$$' -e '/internal/' | sed 's|github.com/tnt/gateway/|    |'; \
	done

## release: stripped static binaries of gateway and gatewayctl for each of
## RELEASE_TARGETS in dist/, with SHA256SUMS and their sizes
RELEASE_TARGETS ?= linux/amd64 linux/arm64 darwin/amd64 darwin/arm64
release:
	@rm -rf dist && mkdir -p dist
	@for t in $(RELEASE_TARGETS); do os=$${t%/*}; arch=$${t#*/}; \
	  for cmd in gateway gatewayctl; do \
	    echo "building dist/$$cmd-$$os-$$arch"; \
	    CGO_ENABLED=0 GOOS=$$os GOARCH=$$arch $(GO) build -trimpath -ldflags="-s -w" -o dist/$$cmd-$$os-$$arch ./cmd/$$cmd || exit 1; \
	  done; \
	done
	@cd dist && sha256sum gateway-* gatewayctl-* > SHA256SUMS && ls -l gateway-* gatewayctl-*
