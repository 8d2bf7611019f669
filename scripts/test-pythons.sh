#!/usr/bin/env bash
# Runs the test suite on further interpreters, each in its own venv (`make suite PYTHON=...`).
# Usage: scripts/test-pythons.sh NAME=PATHS...   e.g. python3.13=tests python3.12=tests/unit,tests/mocks
# PATHS is the comma-separated pytest selection for that interpreter. An interpreter this machine
# does not have (not on PATH, not among pyenv's builds) is skipped with a line saying so. Every
# interpreter found is run even when an earlier one fails; the exit status is 1 when any run
# failed, whatever its pytest status (5, "no tests collected", included).
set -uo pipefail
cd "$(dirname "$0")/.."

summary=()
failed=0
for spec in "$@"; do
  name=${spec%%=*}
  paths=${spec#*=}
  if ! interpreter=$(scripts/find-python.sh "$name" 2>/dev/null); then
    summary+=("$name: not on this machine, skipped")
    continue
  fi
  version=$("$interpreter" -c 'import platform; print(platform.python_version())')
  echo "== $name ($version, $interpreter): pytest ${paths//,/ }"
  started=$SECONDS
  make --no-print-directory suite PYTHON="$name" TESTS="${paths//,/ }"
  status=$?
  took=$((SECONDS - started))
  if [ "$status" -eq 0 ]; then
    summary+=("$name ($version): ${paths//,/ }: passed in ${took} s")
  else
    summary+=("$name ($version): ${paths//,/ }: FAILED (make exit $status) after ${took} s")
    failed=1
  fi
done

echo "== other interpreters"
printf '   %s\n' "${summary[@]}"
exit "$failed"
