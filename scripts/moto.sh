#!/usr/bin/env bash
# moto server, the local AWS endpoint the integration tests and `crowdfund-local` run against.
#
#   scripts/moto.sh start   install (once) into target/moto/venv, start on a free loopback port,
#                           wait until it answers, write its URL to target/moto/url and print it
#   scripts/moto.sh stop    stop the server this script started
#   scripts/moto.sh url     print the URL of the running server
#
# Only pip from PyPI is used; the version is pinned. Logs go to target/moto/server.log.
set -euo pipefail
cd "$(dirname "$0")/.."
MOTO_VERSION="5.2.5"
dir="${CROWDFUND_MOTO_DIR:-target/moto}"
venv="$dir/venv"
python="${PYTHON:-python3}"

install() {
  if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c "import moto,sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
    return
  fi
  mkdir -p "$dir"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$MOTO_VERSION" >"$dir/pip.log" 2>&1 || {
    echo "pip could not install moto[server]==$MOTO_VERSION; see $dir/pip.log" >&2
    tail -n 20 "$dir/pip.log" >&2
    exit 1
  }
}

free_port() {
  "$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

running() {
  [ -f "$dir/pid" ] && kill -0 "$(cat "$dir/pid")" 2>/dev/null
}

start() {
  if running && [ -f "$dir/url" ]; then
    cat "$dir/url"
    return
  fi
  install
  local port url
  port=$(free_port)
  url="http://127.0.0.1:$port"
  # The module, not the console script: a venv that was moved keeps a working interpreter link
  # but its scripts' shebangs point at the old place.
  "$venv/bin/python" -m moto.server -H 127.0.0.1 -p "$port" >"$dir/server.log" 2>&1 &
  echo $! >"$dir/pid"
  for _ in $(seq 1 100); do
    if "$venv/bin/python" -c "import urllib.request,sys; urllib.request.urlopen('$url/moto-api/', timeout=1)" 2>/dev/null; then
      echo "$url" >"$dir/url"
      echo "$url"
      return
    fi
    if ! running; then break; fi
    sleep 0.2
  done
  echo "moto server did not come up on $url; see $dir/server.log" >&2
  tail -n 20 "$dir/server.log" >&2 || true
  stop
  exit 1
}

stop() {
  if running; then
    kill "$(cat "$dir/pid")" 2>/dev/null || true
  fi
  rm -f "$dir/pid" "$dir/url"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  url) if running && [ -f "$dir/url" ]; then cat "$dir/url"; else echo "moto is not running; scripts/moto.sh start" >&2; exit 1; fi ;;
  *) echo "usage: scripts/moto.sh start|stop|url" >&2; exit 2 ;;
esac
