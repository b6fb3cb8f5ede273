# Buzón. Everything a target needs is installed, pinned, into the git-ignored .cache/.
#
#   make dev         the whole system locally (infra/local), in the foreground; Ctrl-C stops it
#   make test        every test, against emulators started on free ports and stopped after
#   make test-short  the tests that need no emulator
#   make test-stress make test STRESS_RUNS times (3), STRESS_HOG=1 (a CPU hog) or =load beside
#   make bench       the benchmarks, against the emulators
#   make load        the load driver: throughput, latencies, exactly-once and order checks
#   make faults      the fault suite (promise-breaking tests + the load driver with processes killed)
#   make dlq         list (ARGS="redrive inbound": redrive) the local dead-letter queues (every declared queue)
#   make tools       install the emulators (scripts/emulators.sh install)
#   make browser     Chromium for the console's browser test (installed with apt-get as root,
#                    else fails with the command to run: scripts/browser.sh)
#   make build       build each function's bootstrap for this machine into .cache/bin/
#
# make test takes DYNAMODB_PORT and SQS_PORT to use fixed ports (an emulator already
# answering there is used as it is), TEST_TIMEOUT, and TEST_PKGS (default ./...).

SHELL        := bash
GO           ?= go
# Every folder of functions/ is one function (shared/deploy declares the same list; its test
# holds the two together).
FUNCTIONS    := $(notdir $(patsubst %/,%,$(wildcard functions/*/)))
LOCAL_BIN    := .cache/bin
EMULATORS    := scripts/emulators.sh
TEST_TIMEOUT ?= 20m
TEST_PKGS    ?= ./...

.DEFAULT_GOAL := build
.PHONY: tools browser build dev test test-short test-stress bench dlq coldstart load faults fuzz rtload

tools:
	$(EMULATORS) install

browser:
	scripts/browser.sh

build:
	@set -e; for fn in $(FUNCTIONS); do \
	  echo "build $(LOCAL_BIN)/$$fn/bootstrap"; \
	  CGO_ENABLED=0 $(GO) build -tags lambda.norpc -o $(LOCAL_BIN)/$$fn/bootstrap ./functions/$$fn; \
	done

dev: tools build
	LOCAL_BIN_DIR=$(LOCAL_BIN) $(GO) run ./infra/local

# test stops the emulators it started whatever happens (failure, Ctrl-C) and exits with the
# tests' status.
test: tools browser build
	LOCAL_BIN_DIR=$(LOCAL_BIN) scripts/with-emulators.sh $(GO) test -count=1 -timeout $(TEST_TIMEOUT) $(TEST_PKGS)
	@$(MAKE) --no-print-directory fuzz

# fuzz: a short run of every fuzz target (their seeds, in testdata/fuzz, also run in go test).
# FUZZ_TARGETS is package:function:executions. The counts are about what 5 s of fuzzing gave
# each target on a busy 2-core machine: a count has no deadline, so a starved machine makes
# the run slower, never red (scripts/fuzz.sh says why). FUZZTIME=1m make fuzz explores each
# target for a fixed time instead.
FUZZ_TARGETS := ./shared/meta:FuzzParse:100000 ./shared/twilio:FuzzParse:50000 \
	./shared/phone:FuzzNormalize:150000 ./shared/quickreply:FuzzRender:100000 \
	./functions/api:FuzzDecode:100000 ./shared/inbox:FuzzParseRef:100000 ./functions/api:FuzzMediaID:5000 \
	./shared/idtoken:FuzzVerify:50000
fuzz:
	@FUZZTIME=$(FUZZTIME) GO=$(GO) scripts/fuzz.sh $(FUZZ_TARGETS)

# bench: the webhook's cost per message, the consumer's cost and write units per inbound
# message, the hottest partition key, the send path's cost and write units per outbound
# message (the API's store and enqueue, then the send function), and the default inbox view
# on 100,000 conversations against one raw Query, and the window job on 100,000 open
# conversations (see README, "Performance and reliability").
bench: tools
	scripts/with-emulators.sh bash -c '\
	  $(GO) test -run="^$$" -bench=. -benchmem ./functions/webhook && \
	  $(GO) test -run="^$$" -bench=. -benchtime=3000x ./shared/ingest ./shared/routing && \
	  $(GO) test -run="^$$" -bench=. -benchtime=1000x ./functions/api ./functions/send && \
	  $(GO) test -run="^$$" -bench=. -benchtime=300x -timeout 20m ./shared/store && \
	  $(GO) test -run="^TestJobFindsExactlyTheDueOnes$$" -count=1 -v -timeout 20m ./functions/window -args -conversations=100000'

# load: the open-loop sweep against the whole local stack (its own emulators and ports): the
# emulators' own ceilings first (ElasticMQ send-batch → receive → delete-batch; DynamoDB Local
# with the consumer's requests per message), a warm-up (one message from each customer, so the
# steps, their write units and cost are the steady state), then one step per offered rate (scheduled by the
# clock, latency from the scheduled time), each drained and checked (lost, duplicated, order),
# stopping after the first rate that is not sustainable (end-to-end p99 ≥ 2 s or a growing
# backlog), then half the maximum sustainable rate. Figures on stdout, in load-report.json, and
# latency against rate in load-sweep.png. LOAD_ARGS replaces the sweep's arguments; without
# -rates the driver runs the closed-loop burst (what make faults uses).
LOAD_ARGS ?= -rates 10,25,50,100,200,400,800 -step 20s -c 1000 -per-post 2
load: tools build
	$(GO) run ./cmd/load $(LOAD_ARGS)

# rtload: realtime under load: one department of 50 agents with their sockets open, customers
# writing at 100 messages/s; webhook → message.created on each socket p50/p99, posts and reads
# per inbound message from the fan-out's log, the cost of a million. RTLOAD_ARGS="-agents 50
# -rate 100 -d 30s" (the defaults).
rtload: tools build
	$(GO) run ./cmd/rtload $(RTLOAD_ARGS)

# faults: the fault suite. The tests that break a promise on purpose (provider retries and
# duplicates, out-of-order statuses, 429/500/timeouts from the provider, poison in a good batch,
# a record failing mid-batch, crashed functions, redrive), then the load driver with chaos: the
# newest assign or webhook process is SIGKILLed every second while 6,000 messages flow, and the
# run fails unless every message is stored exactly once, in order, with nothing dead-lettered;
# then again while DynamoDB Local is frozen (SIGSTOP) for 15 s mid-run: an outage of the table.
FAULT_TESTS ?= Duplicat|OutOfOrder|Retr|Failure|Poison|Redrive|Crash|Parked|Batch|Sandbox|Throttle|Poller|Runtime|Twilio|Window
faults: tools build
	scripts/with-emulators.sh $(GO) test -count=1 -run '$(FAULT_TESTS)' ./functions/... ./shared/... ./infra/local/...
	$(GO) run ./cmd/load -n 6000 -c 300 -chaos 1s -out faults-report.json
	$(GO) run ./cmd/load -n 4000 -c 300 -freeze-dynamodb 15s -out faults-dynamodb-report.json

# coldstart: each function's deployable size and its init / first-event time on this machine.
coldstart:
	$(GO) run ./cmd/coldstart

# dlq: what sits in the dead-letter queues of the running local stack (ARGS="redrive inbound"
# moves them back). Against AWS, set the *_QUEUE_URL / *_DLQ_URL variables and run go run ./cmd/dlq.
dlq:
	AWS_ENDPOINT_URL_SQS=$${AWS_ENDPOINT_URL_SQS:-http://127.0.0.1:$${SQS_PORT:-9324}} \
	AWS_REGION=$${AWS_REGION:-us-east-1} AWS_ACCESS_KEY_ID=$${AWS_ACCESS_KEY_ID:-local} \
	AWS_SECRET_ACCESS_KEY=$${AWS_SECRET_ACCESS_KEY:-local} $(GO) run ./cmd/dlq $(or $(ARGS),list)

test-short:
	$(GO) test -short ./...

# test-stress: make test STRESS_RUNS times (default 3) in a row, with STRESS_HOG=1 a CPU hog
# (one busy loop per core) or STRESS_HOG=load `make load` beside each run; prints how many
# runs passed and keeps the failing runs' logs in .cache/stress/.
test-stress:
	@MAKE=$(MAKE) scripts/test-stress.sh

-include infra/infra.mk
