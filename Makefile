# Partner Cloud for Azure. `make help` lists every target (from the `## `
# comment on its rule line). sam build calls the build-<LogicalId> targets
# (BuildMethod: makefile).

GO        ?= go
GOFLAGS_LAMBDA := -tags lambda.norpc -trimpath -ldflags='-s -w -buildid='
LAMBDA_ENV := GOOS=linux GOARCH=arm64 CGO_ENABLED=0
TIME_SCALE ?= 1
ACCOUNT   ?= acct-eligible
ROLES     ?= admin
RUN_FLAGS ?=
# Origins allowed to call the local API from a browser (comma-separated), e.g.
# make run CORS_ORIGINS=http://localhost:5173; empty: no CORS headers.
CORS_ORIGINS ?=
FN        ?=
EVENT     ?=
FUZZTIME  ?= 10s

# LogicalId:folder for every function in template.yaml.
FUNCTIONS := \
	ProviderOptionsFunction:provider-options \
	TermsFunction:terms \
	CreateProviderFunction:create-provider \
	ListProvidersFunction:list-providers \
	GetProviderFunction:get-provider \
	PutAccountFunction:put-account \
	ResendInvitationFunction:resend-invitation \
	CancelProviderFunction:cancel-provider \
	DeleteProviderFunction:delete-provider \
	ConsentCallbackFunction:consent-callback \
	ConsentInviteFunction:consent-invite \
	ClassifySubscriptionsFunction:classify-subscriptions \
	AdvanceSubscriptionFunction:advance-subscription \
	ApproveMovePlanFunction:approve-move-plan \
	OutboxRelayFunction:outbox-relay \
	CancelTransfersFunction:cancel-transfers \
	PublishEventsFunction:publish-events \
	RequestRelationshipFunction:request-relationship \
	CheckRelationshipsFunction:check-relationships \
	PartnerCenterWebhookFunction:partner-center-webhook \
	RecordOutcomeFunction:record-outcome \
	NewCustomerFunction:new-customer \
	InitialCredentialsFunction:initial-credentials \
	SetOwnerPrincipalFunction:set-owner-principal \
	OperatorProvidersFunction:operator-providers \
	HealthCheckFunction:check-health
FUNCTION_IDS := $(foreach f,$(FUNCTIONS),$(firstword $(subst :, ,$(f))))
# folder_of,<LogicalId> is the function's folder under functions/, or empty.
folder_of = $(patsubst $(1):%,%,$(filter $(1):%,$(FUNCTIONS)))

.PHONY: all help build test run stop invoke token demo lint fmt vet tidy-check fuzz fuzz-list bench clean

all: build ## the same as make build

help: ## every target, one line each
	@grep -hE '^[A-Za-z%_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/^([^:]+):.*## (.*)$$/\1\t\2/' | \
		awk -F'\t' '{printf "  make %-12s %s\n", $$1, $$2}'

# One linux/arm64 bootstrap per function into bin/<LogicalId>/bootstrap.
build: ARTIFACTS_DIR :=
build: $(addprefix build-,$(FUNCTION_IDS)) ## every function for linux/arm64 into bin/<LogicalId>/bootstrap

# sam build runs `make build-<LogicalId>` with ARTIFACTS_DIR set and takes
# $(ARTIFACTS_DIR)/bootstrap; without it (make build) the bootstrap goes to
# bin/<LogicalId>/. FUNCTIONS maps the LogicalId to its folder.
build-%: ## one function (sam build calls it with ARTIFACTS_DIR)
	$(if $(call folder_of,$*),,$(error no function $* in FUNCTIONS (LogicalId:folder)))
	@echo "build $*"
	$(LAMBDA_ENV) $(GO) build $(GOFLAGS_LAMBDA) -o $(or $(ARTIFACTS_DIR),bin/$*)/bootstrap ./functions/$(call folder_of,$*)

test: ## every test
	$(GO) test -count=1 -timeout 25m ./...

# The local cloud: builds the functions for this machine and serves them. It
# writes its process id to .local/localcloud.pid; make stop stops it.
run: ## the local cloud on 127.0.0.1 (API :3000); TIME_SCALE=<n>, CORS_ORIGINS=<origins>, RUN_FLAGS
	@mkdir -p .local
	@echo "building the local cloud…"
	@$(GO) build -o .local/localcloud ./cmd/localcloud
	exec .local/localcloud run -time-scale $(TIME_SCALE) $(if $(CORS_ORIGINS),-param 'CorsAllowedOrigins=$(CORS_ORIGINS)') $(RUN_FLAGS)

stop: ## stop a local cloud started with make run (in the background or another terminal)
	@$(GO) run ./cmd/localcloud stop

# One function's real bootstrap (built for this machine) with one event,
# through the local Lambda host: the Docker-free sam local invoke. Uses the
# services of the cloud make run serves, else starts them for the call.
invoke: ## run one function with one event: FN=<LogicalId> EVENT=events/<file>.json
	@$(if $(FN),,$(error FN=<LogicalId> is required, e.g. make invoke FN=ListProvidersFunction EVENT=events/list-providers.json))
	@$(GO) run ./cmd/localcloud invoke -fn '$(FN)' $(if $(EVENT),-event '$(EVENT)')

# One migration end to end through the public API, each step printed. Uses the
# cloud `make run TIME_SCALE=2000` serves (a running cloud needs TIME_SCALE of
# 100 or more), else starts its own in-process at time scale 2000 (its log:
# .local/demo-cloud.log). DEMO_FLAGS: e.g. -time-scale 500 -timeout 10m.
DEMO_FLAGS ?=
demo: ## one migration end to end through the API, each step printed
	@$(GO) run ./cmd/localcloud demo $(DEMO_FLAGS)

# Prints a token for the running local cloud, alone on stdout.
token: ## a token for the running local cloud, alone on stdout (ACCOUNT, ROLES)
	@$(GO) run ./cmd/localcloud token -account '$(ACCOUNT)' -roles '$(ROLES)'

lint: fmt vet tidy-check fuzz-list ## gofmt, go vet, go mod tidy check, the fuzz targets' list, cfn-lint
	@if command -v cfn-lint >/dev/null 2>&1; then cfn-lint template.yaml; else echo "cfn-lint not installed: skipped"; fi

fmt: ## fail if gofmt would change a file
	@out=$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go')); \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet: ## go vet
	$(GO) vet ./...

tidy-check: ## fail if go.mod/go.sum are not tidy
	@cp go.mod .go.mod.bak; cp go.sum .go.sum.bak; \
	$(GO) mod tidy; status=0; \
	if ! cmp -s go.mod .go.mod.bak || ! cmp -s go.sum .go.sum.bak; then echo "go.mod/go.sum are not tidy: run go mod tidy"; status=1; fi; \
	mv .go.mod.bak go.mod; mv .go.sum.bak go.sum; exit $$status

# Every fuzz target, FUZZTIME each (go test runs one -fuzz target per call).
# FUZZ_TARGETS lists package:Target; a new target must be added here (the
# fuzz-list check below fails when one is missing).
FUZZ_TARGETS := \
	./shared/provider:FuzzParseCreateRequest \
	./shared/consent:FuzzVerifyState \
	./shared/consent:FuzzWellFormedID \
	./shared/api:FuzzParseRoles \
	./shared/api:FuzzCallerFrom \
	./shared/api:FuzzLimitedBody \
	./shared/store:FuzzListCursor \
	./shared/store:FuzzOperatorCursor \
	./functions/consent-callback:FuzzCallbackQuery \
	./functions/put-account:FuzzPutAccount \
	./functions/create-provider:FuzzIdempotencyKey \
	./shared/api:FuzzPageParams \
	./shared/msid:FuzzAgreesWithRegexp \
	./shared/partnercenter:FuzzParseEvent \
	./shared/agreement:FuzzClassify \
	./shared/billing:FuzzTransferName \
	./shared/moves:FuzzBlockedBy

fuzz: fuzz-list ## every fuzz target for FUZZTIME each
	@set -e; \
	for t in $(FUZZ_TARGETS); do \
		pkg=$${t%%:*}; name=$${t#*:}; \
		echo "fuzz $$name ($$pkg) for $(FUZZTIME)"; \
		$(GO) test $$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME); \
	done

fuzz-list: ## fail if FUZZ_TARGETS is not every Fuzz function (lint runs it)
	@listed=$$(for t in $(FUZZ_TARGETS); do echo $${t#*:}; done | sort); \
	found=$$(grep -rhoE '^func Fuzz[A-Za-z0-9_]+' --include='*_test.go' shared functions cmd | sed 's/^func //' | sort); \
	if [ "$$listed" != "$$found" ]; then echo "FUZZ_TARGETS lists:" $$listed; echo "the Fuzz functions are:" $$found; exit 1; fi

# Benchmarks (cmd/localcloud/bench): cold starts and binary sizes against a
# minimal function, the handlers' go test benchmarks and every route through
# the local gateway against a constant one, the cost of a migration, N
# concurrent migrations, the API under load from a second process, and those
# N active providers health-checked in one scheduled run (each Microsoft
# service's peak call rate against its ceiling; the phase fails above one).
# BENCH_FLAGS: e.g. -scale-n 1000 -cold-runs 10 (see go run ./cmd/localcloud/bench -h).
BENCH_FLAGS ?=
bench: ## the performance figures, printed and written to .local/bench/results.md
	@mkdir -p .local/bench
	$(GO) build -o .local/bench/bench ./cmd/localcloud/bench
	.local/bench/bench $(BENCH_FLAGS)

clean: ## remove bin, .aws-sam and .local
	rm -rf bin .aws-sam .local
