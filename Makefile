# Buzón. Everything a target needs is installed, pinned, into the git-ignored .cache/.
#
#   make dev         the whole system locally (infra/local), in the foreground; Ctrl-C stops it
#   make test        every test, against emulators started on free ports and stopped after
#   make test-short  the tests that need no emulator
#   make tools       install the emulators (scripts/emulators.sh install)
#   make build       build each function's bootstrap for this machine into .cache/bin/
#
# make test takes DYNAMODB_PORT and SQS_PORT to use fixed ports (an emulator already
# answering there is used as it is), TEST_TIMEOUT, and TEST_PKGS (default ./...).

SHELL        := bash
GO           ?= go
FUNCTIONS    := webhook assign api send templates window
LOCAL_BIN    := .cache/bin
EMULATORS    := scripts/emulators.sh
TEST_TIMEOUT ?= 20m
TEST_PKGS    ?= ./...

.DEFAULT_GOAL := build
.PHONY: tools build dev test test-short

tools:
	$(EMULATORS) install

# build skips a function whose directory does not exist yet; infra/local skips it too.
build:
	@set -e; for fn in $(FUNCTIONS); do \
	  if [ -d functions/$$fn ]; then \
	    echo "build $(LOCAL_BIN)/$$fn/bootstrap"; \
	    CGO_ENABLED=0 $(GO) build -tags lambda.norpc -o $(LOCAL_BIN)/$$fn/bootstrap ./functions/$$fn; \
	  fi; \
	done

dev: tools build
	LOCAL_BIN_DIR=$(LOCAL_BIN) $(GO) run ./infra/local

# test stops the emulators it started whatever happens (failure, Ctrl-C) and exits with the
# tests' status.
test: tools build
	@set -uo pipefail; \
	ports=($$($(EMULATORS) free-port 2)); \
	export DYNAMODB_PORT="$${DYNAMODB_PORT:-$${ports[0]}}" SQS_PORT="$${SQS_PORT:-$${ports[1]}}"; \
	trap '$(EMULATORS) stop' EXIT; \
	trap 'exit 130' INT TERM; \
	$(EMULATORS) start || exit 1; \
	eval "$$($(EMULATORS) env)"; \
	LOCAL_BIN_DIR=$(LOCAL_BIN) $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TEST_PKGS)

test-short:
	$(GO) test -short ./...

-include infra/infra.mk
