# serverless.mk: deployment targets for report-pipeline (included by Makefile).
#
#   make package                 offline `sls package` into .serverless/ (no AWS credentials needed)
#   make deploy STAGE=prod       build check + `sls deploy` (needs AWS credentials)
#   make check-definition        asl-validator + statelint on statemachine/report-pipeline.asl.json
#   make test-serverless         tests/serverless/run.sh (offline; ends with "N passed, M failed")
#   make scan                    cfn-lint + checkov (pinned, .local/scanners-venv) on the packaged template
#   make sls-info STAGE=prod     show the deployed stack's outputs (SiteUrl, ...)
#
# Variables: STAGE (default dev), REGION (default: serverless.yml's, us-east-1),
# SLS_ARGS (extra arguments, e.g. SLS_ARGS='--param "reportApiUrl=https://..."').
#
# dist/<Name>.zip are produced by `make build` (cargo lambda build, copied from
# each function's bootstrap.zip); this file only consumes them.

STAGE ?= dev
REGION ?=
SLS_ARGS ?=
SLS := node_modules/.bin/sls
SLS_ARTIFACTS := $(foreach f,$(FUNCTIONS),dist/$(f).zip)
SLS_FLAGS = --stage $(STAGE) $(if $(REGION),--region $(REGION)) $(SLS_ARGS)
SLS_ENV := SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off

.PHONY: package deploy sls-info sls-remove check-definition test-serverless scan sls-node-modules sls-artifacts-present

sls-node-modules:
	@scripts/sls/ensure-node-modules.sh

# The zips must exist (a real build, or stubs from scripts/sls/stub-artifacts.sh).
sls-artifacts-present:
	@missing=""; for a in $(SLS_ARTIFACTS); do [ -f "$$a" ] || missing="$$missing $$a"; done; \
	if [ -n "$$missing" ]; then echo "missing:$$missing (run 'make build' first)" >&2; exit 1; fi

package: sls-node-modules sls-artifacts-present ## sls package offline into .serverless/ (STAGE=dev)
	$(SLS_ENV) npx --no-install sls package $(SLS_FLAGS)
	@echo "CloudFormation template: .serverless/cloudformation-template-update-stack.json"

# Deploy refuses stub artifacts: every dist/<Name>.zip must be a real build.
deploy: sls-node-modules sls-artifacts-present ## sls deploy (STAGE=prod; needs AWS credentials and make build)
	@scripts/sls/check-artifacts.sh
	$(SLS_ENV) npx --no-install sls deploy $(SLS_FLAGS) --verbose
	$(SLS_ENV) npx --no-install sls info $(SLS_FLAGS) --verbose

sls-info: sls-node-modules ## the deployed stack's outputs (SiteUrl)
	$(SLS_ENV) npx --no-install sls info $(SLS_FLAGS) --verbose

sls-remove: sls-node-modules
	$(SLS_ENV) npx --no-install sls remove $(SLS_FLAGS)

check-definition: ## statelint + asl-validator on the definition
	scripts/sls/check-definition.sh statemachine/report-pipeline.asl.json

test-serverless: ## offline packaging checks (sls package, broken copies, linters, template, scanners)
	bash tests/serverless/run.sh

# Packages first (stub zips where dist/ has no real build, as the tests do);
# fails on any cfn-lint match or checkov finding not skipped with its reason.
scan: sls-node-modules ## cfn-lint + checkov on the packaged template (STAGE=dev); every finding fixed or skipped with a reason
	@scripts/sls/stub-artifacts.sh
	$(SLS_ENV) npx --no-install sls package $(SLS_FLAGS)
	python3 scripts/sls/scan-template.py .serverless/cloudformation-template-update-stack.json
