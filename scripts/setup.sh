#!/usr/bin/env bash
# Installs whatever is missing for PaksaTalker on Debian: system packages, the
# virtualenv with requirements.txt (or $REQUIREMENTS), the database schema and the fetched models.
# Safe to run again: each step is skipped when already done.
set -euo pipefail
cd "$(dirname "$0")/.."

# espeak-ng brings libespeak-ng1 (phoneme events through ctypes); Noto covers caption scripts.
APT_PACKAGES=(ffmpeg espeak-ng fonts-noto-core)
PYTHON=${PYTHON:-python3}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    echo "setup: need root (or sudo) to install: $*" >&2; exit 1; fi
}

missing=()
for pkg in "${APT_PACKAGES[@]}" ${EXTRA_APT_PACKAGES:-}; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]} with apt"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  "$PYTHON" -m venv .venv
fi
# REQUIREMENTS=requirements-dev.txt (make test, make bench) adds the tests and tools to the runtime.
REQUIREMENTS=${REQUIREMENTS:-requirements.txt}
stamp=".venv/.installed-$REQUIREMENTS.sha256"
want=$(cat requirements.txt "$REQUIREMENTS" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  echo "setup: installing $REQUIREMENTS into .venv"
  .venv/bin/pip install -q --upgrade pip >/dev/null 2>&1 || true
  .venv/bin/pip install -q -r "$REQUIREMENTS"
  echo "$want" > "$stamp"
fi

.venv/bin/python manage.py migrate --noinput -v 0
.venv/bin/python manage.py collectstatic --noinput -v 0
.venv/bin/python manage.py fetch_models
