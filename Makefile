# Dalaba (大喇叭): township emergency broadcast control. `make help` lists the targets.
GO      ?= go
BIN     := bin
SITE    := testdata/caoxi-terminals.csv
HTTP    ?= 127.0.0.1:8080
MQTT    ?= 127.0.0.1:1883
GRPC    ?= 127.0.0.1:7700
PROTOC_GEN_GO      := google.golang.org/protobuf/cmd/protoc-gen-go@v1.36.12
PROTOC_GEN_GO_GRPC := google.golang.org/grpc/cmd/protoc-gen-go-grpc@v1.5.1

.PHONY: help deps build run test bench fuzz proto check screenshots

help: ## list the targets
	@grep -E '^[a-z]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-8s %s\n", $$1, $$2}'

deps: ## install missing system packages (Debian) and Go modules
	@.ci/deps

build: deps ## build every command into bin/
	$(GO) build -o $(BIN)/ ./cmd/...

run: build ## controller + embedded broker + store + Caoxi site + 125 simulated terminals
	@DALABA_ADMIN_PASSWORD=$${DALABA_ADMIN_PASSWORD:-dalaba-demo} $(BIN)/controller --site $(SITE) --data data --http $(HTTP) --mqtt $(MQTT) --grpc $(GRPC) --provision-sim data/provision & ctl=$$!; \
	trap 'kill $$ctl $$sim 2>/dev/null; wait' INT TERM EXIT; \
	for i in $$(seq 50); do curl -sf http://$(HTTP)/healthz >/dev/null && break; sleep 0.2; done; \
	$(BIN)/fleet-sim --site $(SITE) --mqtt $(MQTT) --grpc $(GRPC) --controller-key data/signing.pub --provision data/provision --state-dir data/terminals & sim=$$!; \
	for i in $$(seq 50); do curl -sf http://$(HTTP)/healthz | grep -q '"online": 125' && break; sleep 0.2; done; \
	echo; \
	echo "Dalaba is running: 125 simulated terminals of the Caoxi site (曹溪镇), data in ./data."; \
	echo "  console:    http://$(HTTP)/   (user admin, password dalaba-demo on a fresh ./data)"; \
	echo "  log in:     $(BIN)/ebctl login --user admin   (password dalaba-demo on a fresh ./data; every call needs it)"; \
	echo "  terminals:  $(BIN)/ebctl terminals"; \
	echo "  broadcast:  $(BIN)/ebctl broadcast --to village:361126104201 --audio testdata/chime.wav --wait"; \
	echo "  report:     curl -H \"Authorization: Bearer \$$(cat ~/.config/dalaba/token)\" http://$(HTTP)/api/v1/broadcasts/<id>"; \
	echo "Ctrl-C stops everything."; \
	wait

test: deps ## vet and run every test with the race detector
	$(GO) vet ./...
	$(GO) test -race -count=1 -timeout 40m ./...

screenshots: deps ## run the console's browser test, saving a screenshot of each page in docs/screenshots
	DALABA_SCREENSHOTS=docs/screenshots $(GO) test -count=1 -run '^TestWebConsoleEndToEnd$$' ./controller/

bench: deps ## run the benchmarks; figures go to docs/BENCHMARKS.md
	$(GO) test -run '^$$' -bench . -benchtime 20x -timeout 30m ./controller/

FUZZTIME ?= 30s

fuzz: deps ## run every fuzz target for FUZZTIME (30s) each; a crasher lands in its package's testdata/fuzz
	@set -e; for f in $$(grep -rl --include='*_test.go' '^func Fuzz' controller proto terminal-agent cmd | sort); do \
		for fn in $$(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' $$f); do \
			echo "== $$fn ./$$(dirname $$f)"; \
			$(GO) test -run '^$$' -fuzz "^$$fn\$$" -fuzztime $(FUZZTIME) -fuzzminimizetime 5s ./$$(dirname $$f); \
		done; \
	done

proto: ## regenerate Go code from proto/
	$(GO) install $(PROTOC_GEN_GO)
	$(GO) install $(PROTOC_GEN_GO_GRPC)
	PATH="$$($(GO) env GOPATH)/bin:$$PATH" protoc -I proto \
		--go_out=proto/dalabapb --go_opt=paths=source_relative \
		--go-grpc_out=proto/dalabapb --go-grpc_opt=paths=source_relative proto/dalaba.proto

check: proto ## vet, formatting, and generated code up to date
	$(GO) vet ./...
	@test -z "$$(gofmt -l .)" || { gofmt -l .; echo "gofmt needed"; exit 1; }
	@git diff --exit-code proto/ || { echo "generated code drifted from proto/: commit the regenerated files"; exit 1; }
