#!/usr/bin/env bash
# emulators.sh: the local stand-ins for DynamoDB, SQS and S3, installed pinned into .cache/.
#
#   scripts/emulators.sh install         download all three (idempotent; `make tools`)
#   scripts/emulators.sh start           start them in the background, wait until they answer
#   scripts/emulators.sh stop            stop what start started
#   scripts/emulators.sh env             print the exports the tests need
#   scripts/emulators.sh run dynamodb|sqs|s3
#                                        run one in the foreground (start uses it, and so does
#                                        `go run ./infra/local`, which owns the process)
#   scripts/emulators.sh free-port [N]   print N (default 1) distinct TCP ports free on 127.0.0.1
#
# Ports come from DYNAMODB_PORT (default 8000), SQS_PORT (default 9324) and S3_PORT (default
# 9444). A port that
# already answers is used as it is: start does not start a second emulator there, and stop
# leaves it alone, because it is not ours.
#
# DynamoDB Local comes from the npm tarball of amplify-dynamodb-simulator, which bundles
# DynamoDBLocal.jar with its sqlite natives (AWS publishes the jar only as an unversioned S3
# download). SQS is ElasticMQ from Maven Central, fetched with mvn into .cache/elasticmq:
# unlike moto 5.2.1 it keeps a FIFO deduplication id for five minutes after the message is
# deleted, as SQS does (infra/local/emulators_test.go checks each behaviour we rely on).
# S3 is S3Proxy over an in-memory store, from Maven Central like ElasticMQ: it checks SigV4
# signatures, so a presigned URL expires and a presigned PUT keeps the content type and length
# it was signed for. moto 5.2.5 and Adobe S3Mock 4.9.1, tried first, accept any presigned URL
# whatever its expiry or signature (emulators_test.go, TestS3Emulator).
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CACHE="$ROOT/.cache"
RUN="$CACHE/run"

DYNAMODB_PORT="${DYNAMODB_PORT:-8000}"
SQS_PORT="${SQS_PORT:-9324}"
S3_PORT="${S3_PORT:-9444}"

# DynamoDB Local 1.25.1, inside amplify-dynamodb-simulator 2.9.30.
DDB_NPM_PACKAGE="amplify-dynamodb-simulator"
DDB_NPM_VERSION="2.9.30"
DDB_TGZ_SHA256="3503ffac19f183407909fecdacf4db51ab1fdad1da7b2f177016670b2d80e4b9"
DDB_DIR="$CACHE/dynamodb"
DDB_STAMP="$DDB_DIR/.$DDB_NPM_PACKAGE-$DDB_NPM_VERSION"

ELASTICMQ_VERSION="1.7.1"
ELASTICMQ_JAR_SHA256="351c9b339aed90809b21dfa0cf4103f57b38544c97e24295216bf4b04e471489"
# The Maven plugin that copies the jars, pinned too.
MAVEN_DEPENDENCY_PLUGIN="2.8"
EMQ_DIR="$CACHE/elasticmq"
EMQ_STAMP="$EMQ_DIR/.elasticmq-$ELASTICMQ_VERSION"
S3PROXY_VERSION="2.6.0"
S3PROXY_JAR_SHA256="2414908b114eb6ed449fb043edfbb48e53f944822ad4a214816cde206f235339"
S3P_DIR="$CACHE/s3proxy"
S3P_STAMP="$S3P_DIR/.s3proxy-$S3PROXY_VERSION"
# The stack's region, and the account id the runner puts in ARNs.
SQS_REGION="us-east-1"
SQS_ACCOUNT="123456789012"

# How long start waits for an emulator to answer (the JVM is slow on a small machine; with
# other suites and their JVMs beside it, a 2-core machine can take minutes).
START_TIMEOUT="${EMULATOR_START_TIMEOUT:-240}"

log() { echo "emulators: $*" >&2; }
die() { log "$*"; exit 1; }

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1" | cut -d' ' -f1
  else shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

install_dynamodb() {
  if [[ -f "$DDB_STAMP" ]]; then
    return
  fi
  command -v npm >/dev/null || die "npm is needed to download DynamoDB Local"
  log "installing DynamoDB Local ($DDB_NPM_PACKAGE@$DDB_NPM_VERSION) into ${DDB_DIR#"$ROOT"/}"
  local tmp
  tmp="$(mktemp -d "$CACHE/dynamodb-download.XXXXXX")"
  # shellcheck disable=SC2064 # expand now: tmp is local
  trap "rm -rf '$tmp'" EXIT
  (cd "$tmp" && npm pack --silent "$DDB_NPM_PACKAGE@$DDB_NPM_VERSION" >/dev/null)
  local tgz="$tmp/$DDB_NPM_PACKAGE-$DDB_NPM_VERSION.tgz"
  [[ -f "$tgz" ]] || die "npm pack did not write $tgz"
  local sum
  sum="$(sha256 "$tgz")"
  [[ "$sum" == "$DDB_TGZ_SHA256" ]] || die "$tgz: sha256 $sum, want $DDB_TGZ_SHA256"
  tar -xzf "$tgz" -C "$tmp" package/emulator
  [[ -f "$tmp/package/emulator/DynamoDBLocal.jar" ]] || die "the tarball holds no DynamoDBLocal.jar"
  rm -rf "$DDB_DIR"
  mv "$tmp/package/emulator" "$DDB_DIR"
  touch "$DDB_STAMP"
  rm -rf "$tmp"
  trap - EXIT
}

# install_maven NAME DIR GROUP ARTIFACT VERSION SHA256 fetches a Maven Central artifact with its
# dependencies into DIR/lib and checks the artifact's own jar against SHA256.
install_maven() {
  local name="$1" dir="$2" group="$3" artifact="$4" version="$5" want="$6"
  command -v mvn >/dev/null || die "mvn (Maven) is needed to download $name from Maven Central"
  log "installing $name $version into ${dir#"$ROOT"/}"
  rm -rf "$dir"
  mkdir -p "$dir"
  cat >"$dir/pom.xml" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>buzon.local</groupId>
  <artifactId>$artifact-local</artifactId>
  <version>1</version>
  <dependencies>
    <dependency>
      <groupId>$group</groupId>
      <artifactId>$artifact</artifactId>
      <version>$version</version>
    </dependency>
  </dependencies>
  <build>
    <plugins>
      <plugin>
        <groupId>org.apache.maven.plugins</groupId>
        <artifactId>maven-dependency-plugin</artifactId>
        <version>$MAVEN_DEPENDENCY_PLUGIN</version>
      </plugin>
    </plugins>
  </build>
</project>
EOF
  # --strict-checksums: a jar whose checksum does not match Maven Central's fails the install.
  if ! mvn --batch-mode --strict-checksums -f "$dir/pom.xml" -Dmaven.repo.local="$CACHE/m2" \
    dependency:copy-dependencies -DoutputDirectory="$dir/lib" >"$dir/mvn.log" 2>&1; then
    tail -n 30 "$dir/mvn.log" >&2
    die "mvn could not fetch $name (log: ${dir#"$ROOT"/}/mvn.log)"
  fi
  local jar="$dir/lib/$artifact-$version.jar" sum
  [[ -f "$jar" ]] || die "mvn did not fetch $jar"
  sum="$(sha256 "$jar")"
  [[ "$sum" == "$want" ]] || die "$jar: sha256 $sum, want $want"
}

install_elasticmq() {
  [[ -f "$EMQ_STAMP" ]] && return
  install_maven ElasticMQ "$EMQ_DIR" org.elasticmq elasticmq-server_2.13 "$ELASTICMQ_VERSION" "$ELASTICMQ_JAR_SHA256"
  touch "$EMQ_STAMP"
}

install_s3proxy() {
  [[ -f "$S3P_STAMP" ]] && return
  install_maven S3Proxy "$S3P_DIR" org.gaul s3proxy "$S3PROXY_VERSION" "$S3PROXY_JAR_SHA256"
  touch "$S3P_STAMP"
}

cmd_install() {
  mkdir -p "$CACHE"
  install_dynamodb
  install_elasticmq
  install_s3proxy
}

# port_of NAME prints the port of emulator NAME.
port_of() {
  case "$1" in
    dynamodb) echo "$DYNAMODB_PORT" ;;
    sqs) echo "$SQS_PORT" ;;
    s3) echo "$S3_PORT" ;;
    *) die "unknown emulator $1 (want dynamodb, sqs or s3)" ;;
  esac
}

# answers PORT succeeds when something answers HTTP on 127.0.0.1:PORT (any status: DynamoDB
# Local says 400 to a bare GET).
answers() {
  curl --silent --output /dev/null --max-time 2 "http://127.0.0.1:$1/"
}

cmd_run() {
  local name="${1:-}"
  case "$name" in
    dynamodb)
      [[ -f "$DDB_STAMP" ]] || die "DynamoDB Local is not installed: run make tools"
      command -v java >/dev/null || die "java is needed to run DynamoDB Local"
      cd "$DDB_DIR"
      exec java -Djava.library.path=./DynamoDBLocal_lib -jar DynamoDBLocal.jar \
        -inMemory -sharedDb -port "$DYNAMODB_PORT"
      ;;
    sqs)
      [[ -f "$EMQ_STAMP" ]] || die "ElasticMQ is not installed: run make tools"
      command -v java >/dev/null || die "java is needed to run ElasticMQ"
      mkdir -p "$RUN"
      local conf="$RUN/elasticmq-$SQS_PORT.conf"
      cat >"$conf" <<EOF
include classpath("application.conf")
node-address { protocol = http, host = "127.0.0.1", port = $SQS_PORT, context-path = "" }
rest-sqs { enabled = true, bind-port = $SQS_PORT, bind-hostname = "127.0.0.1", sqs-limits = strict }
rest-stats { enabled = false }
# Room for a 20 s long poll on a busy machine (ElasticMQ's default is 21 s).
pekko.http.server.request-timeout = 30 s
aws { region = $SQS_REGION, accountId = "$SQS_ACCOUNT" }
EOF
      exec java -Dconfig.file="$conf" -cp "$EMQ_DIR/lib/*" org.elasticmq.server.Main
      ;;
    s3)
      [[ -f "$S3P_STAMP" ]] || die "S3Proxy is not installed: run make tools"
      command -v java >/dev/null || die "java is needed to run S3Proxy"
      mkdir -p "$RUN"
      local conf="$RUN/s3proxy-$S3_PORT.conf" logconf="$RUN/s3proxy-logback.xml"
      # Objects live in memory (the transient store) and go with the process. Signatures are
      # checked against the local keys the env command exports. CORS is open so that the
      # console can PUT an upload to a presigned URL from its own origin.
      cat >"$conf" <<EOF
s3proxy.endpoint=http://127.0.0.1:$S3_PORT
s3proxy.authorization=aws-v2-or-v4
s3proxy.identity=local
s3proxy.credential=local
s3proxy.cors-allow-all=true
jclouds.provider=transient
jclouds.identity=local
jclouds.credential=local
EOF
      # Without a configuration logback logs every request at DEBUG.
      cat >"$logconf" <<EOF
<configuration>
  <appender name="out" class="ch.qos.logback.core.ConsoleAppender">
    <encoder><pattern>%d %level %logger{20} %msg%n</pattern></encoder>
  </appender>
  <root level="WARN"><appender-ref ref="out"/></root>
</configuration>
EOF
      # The heap holds every object of a run: room for the 100 MB media test and then some.
      exec java -Xmx1g -Dlogback.configurationFile="$logconf" -cp "$S3P_DIR/lib/*" org.gaul.s3proxy.Main --properties "$conf"
      ;;
    *) die "usage: $0 run dynamodb|sqs|s3" ;;
  esac
}

pidfile() { echo "$RUN/$1-$(port_of "$1").pid"; }

# ours NAME PID succeeds when PID is the emulator NAME that start started (the pid file may
# be stale and the pid reused).
ours() {
  local cmd
  cmd="$(ps -p "$2" -o command= 2>/dev/null)" || return 1
  case "$1" in
    dynamodb) [[ "$cmd" == *DynamoDBLocal.jar* ]] ;;
    sqs) [[ "$cmd" == *org.elasticmq.server.Main* ]] ;;
    s3) [[ "$cmd" == *org.gaul.s3proxy.Main* ]] ;;
  esac
}

start_one() {
  local name="$1" port pf
  port="$(port_of "$name")"
  pf="$(pidfile "$name")"
  if answers "$port"; then
    log "$name: port $port already answers, using it"
    return
  fi
  mkdir -p "$RUN"
  local logfile="$RUN/$name-$port.log"
  # A background job of a non-interactive shell ignores SIGINT, so a Ctrl-C in the shell that
  # started it does not take the emulator down before stop does.
  nohup "$0" run "$name" >"$logfile" 2>&1 &
  echo $! >"$pf"
  log "$name: starting on port $port (pid $!, log ${logfile#"$ROOT"/})"
}

wait_one() {
  local name="$1" port pf pid deadline
  port="$(port_of "$name")"
  pf="$(pidfile "$name")"
  deadline=$((SECONDS + START_TIMEOUT))
  until answers "$port"; do
    if [[ -f "$pf" ]]; then
      pid="$(cat "$pf")"
      if ! kill -0 "$pid" 2>/dev/null; then
        rm -f "$pf"
        tail -n 20 "$RUN/$name-$port.log" >&2 || true
        die "$name exited before answering on port $port"
      fi
    fi
    if ((SECONDS >= deadline)); then
      die "$name did not answer on port $port within ${START_TIMEOUT}s"
    fi
    sleep 0.2
  done
  log "$name: ready on port $port"
}

cmd_start() {
  cmd_install
  start_one dynamodb
  start_one sqs
  start_one s3
  wait_one dynamodb
  wait_one sqs
  wait_one s3
}

# stop_signal NAME sends SIGTERM to emulator NAME if start started it, and prints its pid.
stop_signal() {
  local name="$1" pf pid
  pf="$(pidfile "$name")"
  [[ -f "$pf" ]] || return 0
  pid="$(cat "$pf")"
  rm -f "$pf"
  ours "$name" "$pid" || return 0
  if kill "$pid" 2>/dev/null; then echo "$pid"; fi
}

cmd_stop() {
  local -A pids
  local pid name
  for name in dynamodb sqs s3; do pids[$name]="$(stop_signal "$name")"; done
  # All stop at once. One still running after 5 s is killed: they keep nothing, and
  # ElasticMQ waits out the long polls that are still open (up to 30 s) before it exits.
  for name in dynamodb sqs s3; do
    pid="${pids[$name]}"
    [[ -n "$pid" ]] || continue
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
      kill -KILL "$pid" 2>/dev/null || true
      log "$name: stopped (pid $pid, killed after 5s)"
    else
      log "$name: stopped (pid $pid)"
    fi
  done
}

cmd_env() {
  cat <<EOF
export DYNAMODB_PORT=$DYNAMODB_PORT
export SQS_PORT=$SQS_PORT
export S3_PORT=$S3_PORT
export AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:$DYNAMODB_PORT
export AWS_ENDPOINT_URL_SQS=http://127.0.0.1:$SQS_PORT
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$S3_PORT
export AWS_REGION=us-east-1
export AWS_ACCESS_KEY_ID=local
export AWS_SECRET_ACCESS_KEY=local
EOF
}

cmd_free_port() {
  # The sockets stay bound until every port is chosen, so the ports differ.
  python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
' "${1:-1}"
}

case "${1:-}" in
  install) cmd_install ;;
  start) cmd_start ;;
  stop) cmd_stop ;;
  env) cmd_env ;;
  run) shift; cmd_run "$@" ;;
  free-port) shift; cmd_free_port "$@" ;;
  *) die "usage: $0 install|start|stop|env|run dynamodb|sqs|s3|free-port" ;;
esac
