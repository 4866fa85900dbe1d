# report-pipeline: the developer entry points. `make help` lists them.
#
#   make run        the whole pipeline offline (simulator + embedded S3 + local ASL executor)
#   make test       every test: unit, integration, ASL conformance, packaging checks
#
# Tools (cargo-lambda + zig from PyPI, osls + plugins from npm, statelint from
# PyPI) are installed on first use into .local/ and node_modules/, pinned.

SHELL := /bin/bash
# The four Lambdas, declared once: serverless.mk and the scripts under
# scripts/sls/ read this list (exported), never a copy of it.
FUNCTIONS := CreateReport PollReport DownloadReport UpdateSite
export FUNCTIONS
VENV := $(CURDIR)/.local/venv
export PATH := $(VENV)/bin:$(PATH)
CARGO ?= cargo
# Local servers for `make dev-servers` / `make watch` / `make invoke-*`.
SIM_PORT ?= 9100
S3_PORT ?= 9200
LOCAL_ROOT ?= .local/s3
RUN_ARGS ?=

.DEFAULT_GOAL := help
.PHONY: help run serve test-endpoint-cli test test-rust test-arm64 test-jsonata test-browser test-cargo-lambda test-conformance lint fmt build cargo-lambda dev-servers watch invoke $(addprefix invoke-,$(FUNCTIONS)) render diagram bench rollback clean

help: ## list the targets
	@grep -hE '^[a-zA-Z%_-]+:.*## ' $(MAKEFILE_LIST) | sed -E 's/:.*## /\t/' | expand -t 22

run: ## run the whole pipeline offline, end to end (RUN_ARGS='--help' for options)
	$(CARGO) run --quiet -p offline-runner --bin pipeline -- $(RUN_ARGS)

SERVE_ARGS ?=
serve: ## a local Step Functions endpoint on :8083 for the AWS SDKs and CLI, the pipeline's functions and services behind it (SERVE_ARGS='--help')
	$(CARGO) run --quiet -p offline-runner --bin pipeline-endpoint -- $(SERVE_ARGS)

test-endpoint-cli: ## the AWS CLI (PyPI, pinned) against make serve's endpoint
	$(CARGO) build --quiet --locked -p offline-runner --bin pipeline-endpoint
	tests/endpoint-cli.sh

test: test-rust test-arm64 test-jsonata test-endpoint-cli test-cargo-lambda test-serverless test-browser ## every test (what CI runs)

test-rust: ## unit + integration tests, and the ASL conformance corpus when ../shared has it
	$(CARGO) test --workspace --locked

test-arm64: ## UpdateSite's unit tests (its NEON byte compares among them) built for arm64, run under qemu
	tests/arm64.sh

test-conformance: ## only the ASL conformance corpus, with the CLI's summary
	$(CARGO) run --quiet --release -p statemachine --bin asl -- conformance $${ASL_CONFORMANCE_DIR:-../shared/asl-conformance/cases}

# 1,668 of the suite's 1,674 cases that apply to Step Functions pass today (README).
JSONATA_MIN_PASSED ?= 1668
test-jsonata: ## the official JSONata test suite against our JSONata engine (../shared/jsonata-test-suite)
	$(CARGO) run --quiet --release -p statemachine --bin asl -- jsonata-suite $${JSONATA_TEST_SUITE_DIR:-../shared/jsonata-test-suite} --min-passed $(JSONATA_MIN_PASSED)

test-browser: ## the published site in Debian's Chromium (puppeteer-core, axe-core, html-validate); screenshots in docs/screenshots
	@scripts/ensure-chromium.sh
	@scripts/sls/ensure-node-modules.sh
	$(CARGO) build --quiet --locked -p offline-runner --bin pipeline
	SCREENSHOT_DIR=docs/screenshots PIPELINE_BIN=target/debug/pipeline node --test tests/browser/

# STAGE must be said: serverless.mk's default (dev) names a deployed stack.
rollback: ## point the site back at the previous report (REPORT=id: a named one); STAGE=local is make run's site, else a deployed stage
	@case "$(origin STAGE)" in command*|environment*) ;; *) echo "make rollback: say which site: STAGE=local (make run's) or STAGE=<deployed stage>" >&2; exit 2;; esac
	$(CARGO) build --quiet --locked -p offline-runner --bin site-rollback
	STAGE=$(STAGE) REPORT=$(REPORT) REGION=$(REGION) scripts/rollback.sh

test-cargo-lambda: ## cargo lambda watch + invoke of each step against the dev servers
	tests/cargo-lambda.sh

lint: ## formatting and clippy, warnings denied
	$(CARGO) fmt --all --check
	$(CARGO) clippy --workspace --all-targets --locked -- -D warnings

fmt: ## format the code
	$(CARGO) fmt --all

cargo-lambda:
	@scripts/ensure-cargo-lambda.sh >/dev/null

build: cargo-lambda ## four arm64 release zips in dist/<Function>.zip
	rustup target list --installed | grep -qx aarch64-unknown-linux-gnu || rustup target add aarch64-unknown-linux-gnu
	$(CARGO) lambda build --release --arm64 --output-format zip $(addprefix --bin ,$(FUNCTIONS))
	@mkdir -p dist
	@for f in $(FUNCTIONS); do cp target/lambda/$$f/bootstrap.zip dist/$$f.zip; done
	@ls -l $(addprefix dist/,$(addsuffix .zip,$(FUNCTIONS)))

dev-servers: ## start the reporting-API simulator (:9100) and S3 (:9200) for watch/invoke
	$(CARGO) run --quiet -p local-services --bin dev-servers -- --sim-port $(SIM_PORT) --s3-port $(S3_PORT) --root $(LOCAL_ROOT)

# The environment the functions need to reach the dev servers.
LOCAL_ENV = REPORT_API_URL=http://127.0.0.1:$(SIM_PORT) S3_ENDPOINT_URL=http://127.0.0.1:$(S3_PORT) S3_FORCE_PATH_STYLE=true \
	AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=testtesttest AWS_REGION=us-east-1 \
	REPORTS_BUCKET=reports SITE_BUCKET=site LOCAL_MODE=true POLL_INITIAL_WAIT_SECONDS=1 RUST_LOG=info

watch: cargo-lambda ## cargo lambda watch (:9000) with the environment pointing at the dev servers
	env $(LOCAL_ENV) $(CARGO) lambda watch

invoke-%: cargo-lambda ## invoke one function on `make watch` with tests/payloads/<Function>.json
	$(CARGO) lambda invoke $* --data-file tests/payloads/$*.json

OUT ?= .local/render
render: ## the site UpdateSite would publish for a CSV, in a folder: make render CSV=file.csv [OUT=dir]
	@$(CARGO) run --quiet --release -p update-site --bin render -- $(CSV) $(OUT)

diagram: ## regenerate the state machine diagram in README.md from the definition
	$(CARGO) run --quiet -p statemachine --bin asl -- mermaid statemachine/report-pipeline.asl.json | scripts/update-diagram.py

bench: ## benchmarks that print figures
	$(CARGO) run --quiet --release -p benchmarks --bin bench -- $(BENCH_ARGS)

clean:
	$(CARGO) clean
	rm -rf dist .local .serverless

include serverless.mk
-include fuzz/fuzz.mk
