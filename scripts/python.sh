# Sourced by the other scripts: finds Python 3.12+ and makes the virtual environment in .venv.
find_python() {
  for candidate in python3.13 python3.12; do
    if command -v "$candidate" >/dev/null 2>&1 && "$candidate" -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
      command -v "$candidate"; return 0
    fi
  done
  if command -v pyenv >/dev/null 2>&1; then
    for version in $(pyenv versions --bare 2>/dev/null | grep -E '^3\.1[2-9]' | sort -rV); do
      candidate="$(pyenv root)/versions/$version/bin/python3"
      [ -x "$candidate" ] && { echo "$candidate"; return 0; }
    done
  fi
  for candidate in "$HOME"/.pyenv/versions/3.1[2-9]*/bin/python3; do
    [ -x "$candidate" ] && { echo "$candidate"; return 0; }
  done
  return 1
}

# ensure_venv [EXTRAS]: the venv with the project installed, with its optional EXTRAS ("dev" by
# default: the test tools; the demo asks for none).
ensure_venv() {
  local extras="${1-dev}"
  if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then
    PY="$(find_python)" || {
      echo "shiptrack needs Python 3.12 or newer (Django 6). Install python3.13 (or 3.12) and run this again." >&2
      exit 1
    }
    echo "Creating .venv with $PY"
    rm -rf .venv
    "$PY" -m venv .venv
  fi
  # Reinstall only when pyproject.toml changed since the last install of these extras (a venv
  # with the dev tools also serves the demo).
  local stamp=.venv/.shiptrack-installed${extras:+-$extras}
  if [ -z "$extras" ] && [ -f .venv/.shiptrack-installed-dev ] && [ ! pyproject.toml -nt .venv/.shiptrack-installed-dev ]; then
    return 0
  fi
  if [ ! -f "$stamp" ] || [ pyproject.toml -nt "$stamp" ]; then
    .venv/bin/python -m pip install --quiet --upgrade pip
    .venv/bin/python -m pip install --quiet -e ".${extras:+[$extras]}"
    touch "$stamp"
  fi
}
