#!/usr/bin/env bash
# browser.sh: make sure headless Chromium is there for the console's browser test
# (e2e/console_test.go). Debian's chromium package is a system package (it needs the system's
# libraries), so unlike the emulators it is not pinned into .cache/: as root it is installed
# with apt-get; otherwise this fails with the command to run.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then
  exit 0
fi
install="apt-get update && apt-get install -y chromium"
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "browser: chromium not found; installing: $install" >&2
  DEBIAN_FRONTEND=noninteractive bash -c "$install" >&2
  command -v chromium >/dev/null 2>&1 && exit 0
fi
echo "browser: chromium not found: the console's browser test needs it. Install it (as root): $install" >&2
exit 1
