#!/usr/bin/env bash
# The project's two entry points for a new user:
#   ./dev.sh run    install, migrate, load the demo agent, serve on http://localhost:8800
#   ./dev.sh test   install, then run the whole test suite (pytest)
set -euo pipefail
cd "$(dirname "$0")"

VENV=.venv
PORT=${PORT:-8800}

pick_python() {
  # .python-version pins 3.12; pyenv honours it, elsewhere look for python3.12 by name.
  for candidate in python3.12 python3; do
    if command -v "$candidate" >/dev/null 2>&1 &&
       "$candidate" -c 'import sys; sys.exit(sys.version_info[:2] != (3, 12))' 2>/dev/null; then
      echo "$candidate"; return
    fi
  done
  echo "Python 3.12 is required (pyenv install 3.12, or put python3.12 on PATH)." >&2
  exit 1
}

install() {
  if [ ! -x "$VENV/bin/python" ]; then
    "$(pick_python)" -m venv "$VENV"
  fi
  # Reinstall only when requirements.txt changed since the last install.
  if ! cmp -s requirements.txt "$VENV/.installed-requirements" 2>/dev/null; then
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet -r requirements.txt
    cp requirements.txt "$VENV/.installed-requirements"
  fi
}

ensure_chromium() {
  # The browser tests drive Debian's Chromium; Playwright cannot download its own build here.
  if [ ! -x /usr/bin/chromium ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
      echo "The browser tests need Chromium at /usr/bin/chromium: sudo apt-get install chromium" >&2
      exit 1
    fi
  fi
}

case "${1:-run}" in
  run)
    install
    "$VENV/bin/python" manage.py migrate --no-input -v0
    "$VENV/bin/python" manage.py seed_demo
    "$VENV/bin/python" manage.py ensure_local_admin
    echo "Serving on http://localhost:$PORT  (chat at /, admin at /admin/)"
    exec "$VENV/bin/daphne" -b 127.0.0.1 -p "$PORT" parlant_site.asgi:application
    ;;
  test)
    install
    ensure_chromium
    shift
    exec "$VENV/bin/pytest" "$@"
    ;;
  *)
    echo "usage: ./dev.sh [run|test] [pytest args…]" >&2
    exit 2
    ;;
esac
