# infra/infra.mk: the CDK app's targets, included from the top Makefile.
#
#   make synth          build every function's bootstrap, write cdk.out/
#                       (LOG_LEVEL=debug sets the functions' log level)
#   make lint-template  synth, then cfn-lint the templates
#
# Neither needs the npm CDK CLI: the Go app's app.Synth writes the cloud
# assembly to CDK_OUTDIR itself (jsii runs it on node). `cdk deploy` can then
# deploy it with `--app cdk.out`.

GO               ?= go
LAMBDAS          := $(notdir $(patsubst %/,%,$(wildcard functions/*/)))
LAMBDA_DIR       := build/lambda
CDK_OUT          := cdk.out
VENV             := .cache/venv
CFN_LINT_VERSION := 1.58.0
CFN_LINT         := $(VENV)/bin/cfn-lint
CFN_LINT_STAMP   := $(VENV)/.cfn-lint-$(CFN_LINT_VERSION)

# W3005 (obsolete DependsOn): the CDK makes each function DependsOn its
# role's default policy and role so the grants exist before the first
# invocation; the role is also referenced, which is what W3005 flags.
CFN_LINT_IGNORE  := W3005

.PHONY: lambdas synth lint-template

# lambdas builds every function of functions/ (the ones shared/deploy declares).
# The old bootstrap is removed first: go build refuses to overwrite a file that
# is not a Go binary (such as the placeholders earlier versions wrote).
lambdas:
	@set -e; for fn in $(LAMBDAS); do \
	  rm -f $(LAMBDA_DIR)/$$fn/bootstrap; \
	  echo "build $(LAMBDA_DIR)/$$fn/bootstrap"; \
	  CGO_ENABLED=0 GOOS=linux GOARCH=arm64 $(GO) build -tags lambda.norpc -trimpath \
	    -ldflags "-s -w" -o $(LAMBDA_DIR)/$$fn/bootstrap ./functions/$$fn; \
	done

# synth starts from an empty cdk.out so that no stale asset or template from
# an earlier synth is linted or deployed.
synth: lambdas
	rm -rf $(CDK_OUT)
	CDK_OUTDIR=$(CDK_OUT) $(GO) run ./infra
	@ls $(CDK_OUT)/*.template.json

$(CFN_LINT_STAMP):
	test -x $(VENV)/bin/pip || python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check cfn-lint==$(CFN_LINT_VERSION)
	touch $@

lint-template: synth $(CFN_LINT_STAMP)
	$(CFN_LINT) --ignore-checks $(CFN_LINT_IGNORE) -- $(CDK_OUT)/*.template.json
