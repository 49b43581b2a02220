#!/usr/bin/env bash
# Create .venv with the locked dependencies (Python >= 3.12 found locally; nothing downloaded
# but packages). Safe to run repeatedly: uv only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
export UV_PYTHON_DOWNLOADS=never

find_python() {
  local candidate
  if command -v pyenv >/dev/null 2>&1; then
    candidate=$(pyenv which python3.12 2>/dev/null || true)
    [ -n "$candidate" ] && { echo "$candidate"; return; }
  fi
  for candidate in python3.12 python3.13 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$candidate"; return
    fi
  done
  echo "no Python >= 3.12 found: install one (e.g. pyenv install 3.12)" >&2
  exit 1
}

PYTHON=$(find_python)
if command -v uv >/dev/null 2>&1; then
  UV=$(command -v uv)
else
  UV=.tools/uv/bin/uv
  if [ ! -x "$UV" ]; then
    "$PYTHON" -m venv .tools/uv
    .tools/uv/bin/python -m pip install --quiet --disable-pip-version-check uv
  fi
fi
"$UV" sync --frozen --extra dev --extra dask --python "$PYTHON" --quiet
