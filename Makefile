# SidecarInjector. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

SLN := SidecarInjector.sln
CONFIGURATION ?= Release
TEST_RESULTS ?= TestResults
IMAGE_REGISTRY ?= ghcr.io/sidecar-injector
IMAGE_TAG ?= 0.1.0
# Debian packages the real-process tests use: redis, twemproxy, promtool, rsyslog, wrk, PyYAML (YAML 1.1
# reading of `inject` output); the local kubelet's busybox image and its namespaces (iproute2's ip,
# util-linux's unshare/nsenter/setpriv).
TEST_DEB_PACKAGES := redis-server redis-tools nutcracker prometheus rsyslog wrk python3-yaml busybox iproute2 util-linux

.PHONY: help
help: ## List the targets.
	@awk 'BEGIN {FS = ":.*##"} /^[a-zA-Z0-9_-]+:.*##/ {printf "  \033[36m%-20s\033[0m %s\n", $$1, $$2}' $(MAKEFILE_LIST)

.PHONY: build
build: ## Build every project.
	dotnet build $(SLN) -c $(CONFIGURATION)

.PHONY: deps
deps: ## Install the Debian packages the tests use (when root and apt-get are available).
	@missing=""; for p in $(TEST_DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -z "$$missing" ]; then echo "test dependencies present"; \
	elif [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	  echo "installing:$$missing"; apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	  for s in redis-server rsyslog; do (systemctl stop $$s || service $$s stop) >/dev/null 2>&1 || true; done; \
	else echo "warning: missing Debian packages:$$missing (install them as root: apt-get install$$missing)"; fi

.PHONY: test
test: deps ## Run the whole test suite (Docker/k3s tests skip when no Docker engine runs).
	dotnet build $(SLN) -c $(CONFIGURATION)
	rm -rf $(TEST_RESULTS) && mkdir -p $(TEST_RESULTS)
	dotnet test --solution $(SLN) -c $(CONFIGURATION) --no-build --results-directory $(abspath $(TEST_RESULTS)) \
	  --report-xunit-trx --ignore-exit-code 8 2>&1 | tee $(TEST_RESULTS)/output.txt
	@bash .ci/summarize $(TEST_RESULTS)

.PHONY: test-e2e
test-e2e: ## Run only the k3s end-to-end tests (needs a Docker engine).
	dotnet test --project tests/SidecarInjector.E2E.Tests -c $(CONFIGURATION)

.PHONY: e2e-local
e2e-local: deps ## Run the local-cluster tests (the local kubelet runs pods as Linux processes; needs root).
	dotnet build tests/SidecarInjector.E2E.Tests -c $(CONFIGURATION)
	dotnet test --project tests/SidecarInjector.E2E.Tests -c $(CONFIGURATION) --no-build --filter-trait 'Category=LocalKubelet'

.PHONY: lint
lint: ## Check formatting and code style (dotnet format --verify-no-changes).
	dotnet format $(SLN) --verify-no-changes

.PHONY: format
format: ## Fix formatting and code style.
	dotnet format $(SLN)

.PHONY: docs-check
docs-check: ## Check that README.md and docs/ link to files, headings, make targets and projects that exist.
	dotnet test --project tests/SidecarInjector.Crds.Tests -c $(CONFIGURATION) --filter-class '*DocumentationTests'

.PHONY: manifests
manifests: ## Regenerate crds/sidecarinjector.io_sidecarpolicies.yaml from the C# types.
	UPDATE_CRD=1 dotnet test --project tests/SidecarInjector.Crds.Tests -c $(CONFIGURATION) --filter-class '*CrdGeneratorTests' >/dev/null || true
	dotnet test --project tests/SidecarInjector.Crds.Tests -c $(CONFIGURATION) --filter-class '*CrdGeneratorTests'

.PHONY: demo
demo: ## Build and run the offline inject over examples/ with the sample policies.
	dotnet build webhook -c $(CONFIGURATION) -v quiet -nologo
	dotnet run --project webhook -c $(CONFIGURATION) --no-build -- inject -f examples/ --policies crds/samples/

.PHONY: run
run: ## Run the webhook locally with the sample policies and a self-signed certificate.
	dotnet run --project webhook -c $(CONFIGURATION) -- serve --policies crds/samples/

.PHONY: deploy undeploy build-installer docker-build
deploy: ## Install deploy/default (OVERLAY=deploy/cert-manager for cert-manager) into the current kubeconfig context.
	IMAGE_REGISTRY=$(IMAGE_REGISTRY) IMAGE_TAG=$(IMAGE_TAG) bash deploy/make.sh deploy

undeploy: ## Delete the installation from the current kubeconfig context.
	IMAGE_REGISTRY=$(IMAGE_REGISTRY) IMAGE_TAG=$(IMAGE_TAG) bash deploy/make.sh undeploy

build-installer: ## Write dist/install.yaml (one file, images at IMAGE_REGISTRY/IMAGE_TAG).
	IMAGE_REGISTRY=$(IMAGE_REGISTRY) IMAGE_TAG=$(IMAGE_TAG) bash deploy/make.sh build-installer

docker-build: ## Build the five images as $(IMAGE_REGISTRY)/<name>:$(IMAGE_TAG).
	IMAGE_REGISTRY=$(IMAGE_REGISTRY) IMAGE_TAG=$(IMAGE_TAG) bash deploy/make.sh docker-build

.PHONY: bench
bench: bench-engine bench-webhook ## Run the injector benchmarks (engine and webhook).

.PHONY: bench-engine
bench-engine: ## BenchmarkDotNet: the injection engine on a 4-container pod with two policies.
	dotnet run --project tests/SidecarInjector.Benchmarks -c Release -- --filter '*EngineBenchmarks*' --memory --inProcess

.PHONY: bench-webhook
bench-webhook: ## wrk against the webhook and a no-op HTTPS endpoint in the same run.
	bash tests/bench/bench-webhook.sh

.PHONY: bench-operator
bench-operator: ## The operator against the fake API server with 10,000 pods, 500 namespaces, 20 policies: time to correct statuses, peak RSS, CPU per pod event.
	bash tests/bench/bench-operator.sh

.PHONY: bench-log-shipper
bench-log-shipper: ## Ship 1 GB of lines to a local receiver, against rsyslog imfile->omfwd.
	bash tests/bench/bench-log-shipper.sh

.PHONY: bench-ambassador
bench-ambassador: ## redis-benchmark: direct Redis vs twemproxy vs the ambassador.
	bash tests/bench/bench-ambassador.sh

.PHONY: bench-adapter
bench-adapter: ## /metrics latency for 10,000 series and 1 MB JSON parse time.
	bash tests/bench/bench-adapter.sh
