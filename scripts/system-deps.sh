#!/usr/bin/env bash
# Installs the Debian packages the project needs that pip cannot provide.
# Usage: scripts/system-deps.sh [broker] [browser] [bench]
# As root it runs apt-get; otherwise it uses `sudo -n` when allowed, or says what to install.
set -euo pipefail

need=()
python3 -c 'import ensurepip, venv' 2>/dev/null || need+=(python3-venv)
command -v curl >/dev/null || need+=(curl)  # the README's and the banner's examples use it
command -v openssl >/dev/null || need+=(openssl)  # docs/security.md's certificates, and their test
for want in "$@"; do
  case "$want" in
    broker)
      compgen -G '/usr/lib/rabbitmq/lib/rabbitmq_server-*/sbin/rabbitmq-server' >/dev/null \
        || need+=(rabbitmq-server) ;;
    browser) command -v chromium >/dev/null || need+=(chromium) ;;
    bench) command -v wrk >/dev/null || need+=(wrk) ;;
    *) echo "system-deps: unknown group '$want'" >&2; exit 2 ;;
  esac
done
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -eq 0 ]; then
  apt=(apt-get)
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then
  apt=(sudo apt-get)
else
  echo "Missing system packages: ${need[*]}" >&2
  echo "Install them with: sudo apt-get install ${need[*]}" >&2
  echo "(or run the stack with 'docker compose up' if you have a Docker engine)" >&2
  exit 1
fi
echo "installing: ${need[*]}"
export DEBIAN_FRONTEND=noninteractive
"${apt[@]}" update -qq
# policy-rc.d-less machines would start Debian's own broker on 5672; ours uses other ports.
"${apt[@]}" install -y -qq --no-install-recommends "${need[@]}" >/dev/null
