#!/usr/bin/env bash
# Loopback benchmark of crowdfund-api (role funding-rw) with wrk, bounded in time:
#   GET /healthz (the server's ceiling here), GET /projects/{id}, POST /projects/{id}/fundings
#   (unique paymentIds from a Lua script). Prints requests/s and p99 per endpoint against the
#   targets, then counts double raises in the database (must be 0).
#
# Needs MariaDB/MySQL (BENCH_MYSQL_URL, default mysql://root@127.0.0.1:3306) and wrk (installed
# from Debian when missing and running as root). Usage: api/bench/wrk.sh [seconds per run]
set -euo pipefail
cd "$(dirname "$0")/../.."

duration="${1:-10}"
connections="${BENCH_CONNECTIONS:-32}"
fund_connections="${BENCH_FUND_CONNECTIONS:-4}"
port="${BENCH_PORT:-18080}"
server="${BENCH_MYSQL_URL:-mysql://root@127.0.0.1:3306}"
db="crowdfund_bench_$(date +%s)_$$"
base="http://127.0.0.1:$port"
target_dir="${CARGO_TARGET_DIR:-target}"
bin="$target_dir/release/crowdfund-api"
work="$(mktemp -d)"

if ! command -v wrk >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
  else
    echo "wrk is not installed (apt-get install wrk)" >&2
    exit 1
  fi
fi
mysql_args=(--protocol=tcp -h "$(echo "$server" | sed -E 's#^mysql://([^@]*@)?([^:/]+).*#\2#')" \
  -P "$(echo "$server" | sed -nE 's#.*:([0-9]+)/?$#\1#p')" -u root)
sql() { mysql "${mysql_args[@]}" -N -B -e "$1"; }

cargo build --release --locked -q -p crowdfund-api

server_pid=""
cleanup() {
  if [ -n "$server_pid" ]; then kill "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; fi
  sql "DROP DATABASE IF EXISTS \`$db\`" || true
  rm -rf "$work"
}
trap cleanup EXIT

sql "CREATE DATABASE \`$db\`"
export DATABASE_URL="$server/$db" PORT="$port" RUST_LOG="${RUST_LOG:-warn}"
"$bin" migrate
"$bin" --role funding-rw --db-max-connections "${BENCH_POOL:-16}" >"$work/server.log" 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
  curl -fsS "$base/readyz" >/dev/null 2>&1 && break
  sleep 0.1
done
curl -fsS "$base/readyz" >/dev/null

project=$(curl -fsS -X POST "$base/projects" -H 'content-type: application/json' \
  -d '{"title":"Benchmark","goal":1000000000000,"currency":"KRW","deadline":"2999-01-01T00:00:00Z"}' |
  sed -E 's/.*"id":"([^"]+)".*/\1/')

# One Lua file: prints a machine-readable line when wrk is done; with FUND set, POSTs fundings
# with a unique paymentId per request.
cat >"$work/bench.lua" <<'LUA'
local counter = 0
local threads = {}
local project = os.getenv("PROJECT")
local run = os.getenv("RUN_ID")
function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end
function request()
  if os.getenv("FUND") == nil then
    return wrk.format("GET")
  end
  counter = counter + 1
  local body = string.format('{"paymentId":"b%s-%d-%d","amount":1000,"currency":"KRW"}', run, tid or 0, counter)
  return wrk.format("POST", "/projects/" .. project .. "/fundings",
    { ["Content-Type"] = "application/json" }, body)
end
function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local bad = summary.errors.status + summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d rps=%.0f p50_ms=%.2f p99_ms=%.2f errors=%d\n",
    summary.requests, summary.requests / seconds, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, bad))
end
LUA

run() { # name url [env...]
  local name=$1 url=$2; shift 2
  env "$@" PROJECT="$project" RUN_ID="$$" wrk -t1 -c"$connections" -d"${duration}s" --timeout 5s \
    -s "$work/bench.lua" "$url" >"$work/$name.out"
  grep '^RESULT' "$work/$name.out" | sed "s/^RESULT/$name/"
}

echo "crowdfund-api funding-rw on $base, wrk -t1 -d${duration}s, -c$connections for GETs, -c$fund_connections for fundings, $(nproc) cores"
health=$(run healthz "$base/healthz")
proj=$(run project "$base/projects/$project")
fund=$(connections="$fund_connections" run fundings "$base/projects/$project/fundings" FUND=1)
printf '%s\n%s\n%s\n' "$health" "$proj" "$fund"

field() { echo "$1" | sed -nE "s/.* $2=([0-9.]+).*/\1/p"; }
status=0
check() { # description ok?
  if [ "$2" = 1 ]; then echo "PASS  $1"; else echo "FAIL  $1"; status=1; fi
}
h_rps=$(field "$health" rps); p_rps=$(field "$proj" rps); p_p99=$(field "$proj" p99_ms)
f_rps=$(field "$fund" rps); f_p99=$(field "$fund" p99_ms)
check "GET /projects/{id} $p_rps req/s >= 25% of /healthz $h_rps req/s" \
  "$(awk -v a="$p_rps" -v b="$h_rps" 'BEGIN{print (a >= 0.25*b) ? 1 : 0}')"
check "GET /projects/{id} p99 $p_p99 ms <= 10 ms" "$(awk -v a="$p_p99" 'BEGIN{print (a <= 10) ? 1 : 0}')"
check "POST fundings $f_rps req/s >= 1000" "$(awk -v a="$f_rps" 'BEGIN{print (a >= 1000) ? 1 : 0}')"
check "POST fundings p99 $f_p99 ms <= 20 ms" "$(awk -v a="$f_p99" 'BEGIN{print (a <= 20) ? 1 : 0}')"
for name in healthz project fundings; do
  errors=$(field "$(grep '^RESULT' "$work/$name.out")" errors)
  check "$name: $errors non-2xx or socket errors" "$([ "$errors" = 0 ] && echo 1 || echo 0)"
done

# Double raises: each raise adds 1 backer and its amount once; compare with the fundings rows.
read -r rows sum raised backers < <(sql "SELECT (SELECT COUNT(*) FROM \`$db\`.fundings), \
  (SELECT COALESCE(SUM(amount),0) FROM \`$db\`.fundings), raised, backers \
  FROM \`$db\`.projects WHERE id = '$project'")
doubles=$(( backers - rows ))
echo "fundings rows=$rows sum=$sum; project raised=$raised backers=$backers; double raises: $doubles"
check "zero double raises" "$([ "$doubles" = 0 ] && [ "$sum" = "$raised" ] && echo 1 || echo 0)"
exit $status
