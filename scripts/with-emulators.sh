#!/usr/bin/env bash
# with-emulators.sh CMD...: start DynamoDB Local, the SQS emulator and the S3 emulator on free
# ports (or on DYNAMODB_PORT / SQS_PORT / S3_PORT), run CMD with the AWS endpoint variables set, stop the emulators
# whatever happens, and exit with CMD's status.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
emu="$here/emulators.sh"
ports=($("$emu" free-port 3))
export DYNAMODB_PORT="${DYNAMODB_PORT:-${ports[0]}}" SQS_PORT="${SQS_PORT:-${ports[1]}}" S3_PORT="${S3_PORT:-${ports[2]}}"
trap '"$emu" stop' EXIT
trap 'exit 130' INT TERM
"$emu" start || exit 1
eval "$("$emu" env)"
"$@"
