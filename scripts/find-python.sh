#!/usr/bin/env bash
# Prints the absolute path of a working interpreter called NAME (python3, python3.13, or a path).
# Usage: scripts/find-python.sh NAME
# Looks on PATH first, then among pyenv's builds ($(pyenv root)/versions/*/bin/NAME, newest
# first), so an installed-but-not-activated pyenv version is found too. A pyenv shim that
# answers "command not found" does not count. Exits 1, saying so on stderr, when there is none.
set -euo pipefail

name=${1:?usage: scripts/find-python.sh NAME}

works() {  # prints the interpreter's own path when it runs
  "$1" -c 'import sys; print(sys.executable)' 2>/dev/null
}

if [[ $name == */* ]]; then
  [ -x "$name" ] && works "$name" && exit 0
else
  found=$(command -v "$name" 2>/dev/null || true)
  [ -n "$found" ] && works "$found" && exit 0
  if command -v pyenv >/dev/null 2>&1; then
    root=$(pyenv root)
  else
    root=${PYENV_ROOT:-$HOME/.pyenv}
  fi
  if [ -d "$root/versions" ]; then
    while read -r candidate; do
      works "$candidate" && exit 0
    done < <(compgen -G "$root/versions/*/bin/$name" | sort -rV)
  fi
fi
echo "find-python: no working '$name' on PATH or among pyenv's builds" >&2
exit 1
