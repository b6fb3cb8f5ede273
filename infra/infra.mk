# infra/infra.mk: the CDK app's targets, included from the top Makefile.
#
#   make synth          build every function's bootstrap, write cdk.out/
#                       (LOG_LEVEL=debug sets the functions' log level)
#   make lint-template  synth, then cfn-lint and checkov the templates
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
# checkov has a venv of its own: it pins its own cfn-lint range.
CHECKOV_VENV     := .cache/checkov
CHECKOV_VERSION  := 3.3.30
CHECKOV          := $(CHECKOV_VENV)/bin/checkov
CHECKOV_STAMP    := $(CHECKOV_VENV)/.checkov-$(CHECKOV_VERSION)

# W3005 (obsolete DependsOn): the CDK makes each function DependsOn its
# role's default policy and role so the grants exist before the first
# invocation; the role is also referenced, which is what W3005 flags.
CFN_LINT_IGNORE  := W3005

# The checks checkov runs that Buzón does not follow, each with why:
# CKV_AWS_115 (a function without reserved concurrency): the webhook and the agent API reserve
#   theirs (shared/deploy); the consumers are bounded by their queues' message groups and the
#   scheduled functions run one at a time, and reserving for them would shrink the account's
#   pool that the webhook's and API's reservations already take from.
# CKV_AWS_116 (a function without a DLQ): a Lambda DLQ is for asynchronous invocations. The
#   webhook and API are invoked synchronously, the consumers through event source mappings
#   whose failures end in their queues' DLQs, and the scheduled functions are not retried
#   (NoRetry: the next tick repeats them).
# CKV_AWS_117 (a function outside a VPC): they reach only AWS APIs and the providers over TLS
#   with IAM or token auth; a VPC would add NAT gateways (about $32 a month each) and cold-start
#   latency for no data that is not already encrypted and authorized.
# CKV_AWS_119, CKV_AWS_149, CKV_AWS_158 (the table, the secret and the log groups without a
#   customer-managed KMS key): each is encrypted at rest with an AWS key; a customer key costs
#   $1 a month plus $0.03 per 10,000 requests, and on the table every read and write would pay
#   it. The logs carry no secrets or message bodies (STYLE.md).
# CKV_AWS_173 (Lambda environment without a KMS key): the environment holds resource names and
#   URLs only; the provider secrets stay in Secrets Manager (SECRETS_ARN is a reference).
# CKV_AWS_18 (bucket access logging): another bucket and its lifecycle for logs of presigned
#   media reads; CloudTrail data events are the audit trail if an operator needs one.
# CKV_AWS_21 (bucket versioning): media objects are written once under unique keys and never
#   overwritten or deleted by the functions; versions would only keep copies of nothing.
# CKV_AWS_26 (SNS topic without KMS): CloudWatch alarms cannot publish to a topic encrypted
#   with the AWS-managed SNS key, and the alarm topic carries alarm names and states only.
# CKV_AWS_27 (SQS queue without KMS): the queues use SQS-managed encryption at rest
#   (SqsManagedSseEnabled), which the check does not recognize.
CHECKOV_SKIP     := CKV_AWS_115,CKV_AWS_116,CKV_AWS_117,CKV_AWS_119,CKV_AWS_149,CKV_AWS_158,CKV_AWS_173,CKV_AWS_18,CKV_AWS_21,CKV_AWS_26,CKV_AWS_27

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

$(CHECKOV_STAMP):
	test -x $(CHECKOV_VENV)/bin/pip || python3 -m venv $(CHECKOV_VENV)
	$(CHECKOV_VENV)/bin/pip install --quiet --disable-pip-version-check checkov==$(CHECKOV_VERSION)
	touch $@

lint-template: synth $(CFN_LINT_STAMP) $(CHECKOV_STAMP)
	$(CFN_LINT) --ignore-checks $(CFN_LINT_IGNORE) -- $(CDK_OUT)/*.template.json
	$(CHECKOV) --quiet --compact --skip-download --framework cloudformation --skip-check $(CHECKOV_SKIP) \
	  $(addprefix -f ,$(wildcard $(CDK_OUT)/*.template.json))
