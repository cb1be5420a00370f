#!/usr/bin/env bash
# Benchmark (not a test) of the Lambda zips: for each function, the zip size (target ≤ 8 MB)
# and the idle memory of its `bootstrap` (target ≤ 20 MB RSS) once it is initialised and
# waiting for an invocation.
#
#   scripts/bench-lambda.sh [ZIP_DIR]      (default target/lambda-zips; built if missing)
#   FUNCTIONS="broker" scripts/bench-lambda.sh   (only those)
#
# Each bootstrap runs with the environment terraform gives it, AWS pointed at moto
# (CROWDFUND_MOTO_URL, else scripts/moto.sh starts one), and AWS_LAMBDA_RUNTIME_API pointed at a
# stub of the Lambda Runtime API that holds `GET /2018-06-01/runtime/invocation/next` open, as
# Lambda does between invocations. Once the function has asked for its first event it has
# finished its init; after SETTLE seconds VmRSS and VmHWM are read from /proc.
set -euo pipefail
cd "$(dirname "$0")/.."

zip_dir=${1:-target/lambda-zips}
settle=${SETTLE:-2}
# FUNCTIONS="pg broker" measures only those.
read -ra functions <<< "${FUNCTIONS:-broker pg send_email funding_update transaction_check dlq_handler}"
max_zip=8000000
max_rss_kb=19531  # 20 MB, in the KiB /proc reports

if ! ls "$zip_dir"/*.zip >/dev/null 2>&1; then
  bash scripts/build-lambda-zips.sh "$zip_dir"
fi

work=$(mktemp -d)
pids=()
started_moto=""
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -n "$started_moto" ] && scripts/moto.sh stop >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

moto=${CROWDFUND_MOTO_URL:-}
if [ -z "$moto" ]; then
  moto=$(scripts/moto.sh start)
  started_moto=1
fi

# The Runtime API stub: logs each /next poll (one function runs at a time, so a new line means
# the current one finished its init) and never answers it; logs any POST (init errors).
cat > "$work/runtime_api.py" <<'PY'
import http.server, sys, threading, time
polls = open(sys.argv[1], "a", buffering=1)
class Stub(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path.endswith("/runtime/invocation/next"):
            polls.write("next\n")
            time.sleep(3600)  # no event: the function stays idle, as between invocations
        self.send_response(404); self.end_headers()
    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        body = self.rfile.read(length).decode(errors="replace")
        polls.write(f"POST {self.path} {body}\n")
        self.send_response(202); self.end_headers(); self.wfile.write(b"{}")
    def log_message(self, *args):
        pass
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Stub)
server.daemon_threads = True
print(server.server_address[1], flush=True)
server.serve_forever()
PY
python3 "$work/runtime_api.py" "$work/polls.log" > "$work/port" &
pids+=($!)
for _ in $(seq 50); do [ -s "$work/port" ] && break; sleep 0.1; done
runtime_api="127.0.0.1:$(cat "$work/port")"

account=123456789012
region=us-east-1
topics='{"payment_attempt":"arn:aws:sns:'$region:$account':payment_attempt","goal_achievement":"arn:aws:sns:'$region:$account':goal_achievement","send_email":"arn:aws:sns:'$region:$account':send_email","approve_payment":"arn:aws:sns:'$region:$account':approve_payment"}'
queues='{"etc_dlq":"'$moto/$account'/etc_dlq","etc_parked":"'$moto/$account'/etc_parked"}'

printf '\n%-18s %10s %12s %12s %12s  %s\n' function zip bootstrap "idle RSS" "peak RSS" "targets (zip ≤ 8 MB, RSS ≤ 20 MB)"
failed=0
for f in "${functions[@]}"; do
  zip="$zip_dir/$f.zip"
  [ -f "$zip" ] || { echo "$zip is missing" >&2; exit 1; }
  mkdir -p "$work/$f"
  unzip -q -o "$zip" -d "$work/$f"
  before=$(grep -c '^next' "$work/polls.log" 2>/dev/null || true)
  env -i PATH="$PATH" \
    AWS_LAMBDA_RUNTIME_API="$runtime_api" AWS_LAMBDA_FUNCTION_NAME="$f" \
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE=256 AWS_LAMBDA_FUNCTION_VERSION=1 \
    AWS_LAMBDA_LOG_FORMAT=JSON AWS_REGION=$region AWS_ENDPOINT_URL="$moto" \
    AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \
    CROWDFUND_FUNCTION="$f" TOPIC_ARNS="$topics" QUEUE_URLS="$queues" \
    PAYMENTS_TABLE=payments PAYMENTS_INDEX=project_paid_at METRICS_NAMESPACE=Crowdfund \
    SES_FROM_ADDRESS=payments@crowdfund.example SES_CONFIGURATION_SET=crowdfund-receipts \
    FUNDING_API_URL=http://127.0.0.1:9 \
    DISCORD_WEBHOOK_SECRET_ARN="arn:aws:secretsmanager:$region:$account:secret:crowdfund/discord-webhook-url" \
    "$work/$f/bootstrap" > "$work/$f.log" 2>&1 &
  pid=$!
  pids+=("$pid")
  # Initialised = it asked the Runtime API for an event.
  for _ in $(seq 100); do
    now=$(grep -c '^next' "$work/polls.log" 2>/dev/null || true)
    [ "$now" -gt "$before" ] && break
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  sleep "$settle"
  if ! kill -0 "$pid" 2>/dev/null || [ "$(grep -c '^next' "$work/polls.log")" -le "$before" ]; then
    echo "$f did not reach its first /next; its output:" >&2
    cat "$work/$f.log" >&2
    grep POST "$work/polls.log" >&2 || true
    exit 1
  fi
  rss=$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")
  hwm=$(awk '/^VmHWM/ {print $2}' "/proc/$pid/status")
  kill "$pid"
  wait "$pid" 2>/dev/null || true
  zip_bytes=$(stat -c %s "$zip")
  bin_bytes=$(stat -c %s "$work/$f/bootstrap")
  verdict=ok
  if [ "$zip_bytes" -gt "$max_zip" ] || [ "$rss" -gt "$max_rss_kb" ]; then verdict=MISSED; failed=1; fi
  awk -v f="$f" -v z="$zip_bytes" -v b="$bin_bytes" -v r="$rss" -v h="$hwm" -v v="$verdict" \
    'BEGIN { printf "%-18s %7.2f MB %9.2f MB %9.1f MB %9.1f MB  %s\n", f, z / 1e6, b / 1e6, r * 1024 / 1e6, h * 1024 / 1e6, v }'
done
echo
echo "idle = initialised and waiting on /next for ${settle}s; RSS from /proc/PID/status (VmRSS, VmHWM)"
exit "$failed"
