#!/usr/bin/env bash
# Captures every view of crowdfund-console from a real terminal (tmux) into docs/console.md.
# Uses a throwaway state file: a demo world plus 400 simulated payments (seed 7).
# CONSOLE_BIN=path/to/crowdfund-console uses that binary instead of building one.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${CONSOLE_BIN:-}
if [ -z "$bin" ]; then
  cargo build --release -q -p crowdfund-console
  bin=${CARGO_TARGET_DIR:-target}/release/crowdfund-console
fi
work=$(mktemp -d)
trap 'tmux -S "$work/sock" kill-server 2>/dev/null || true; rm -rf "$work"' EXIT
case $bin in /*) ;; *) bin=$(pwd)/$bin ;; esac
# A relative state path keeps the capture free of this machine's paths.
(cd "$work" && "$bin" --state world.json simulate --payments 400 --seed 7 >/dev/null 2>&1)
t() { tmux -S "$work/sock" "$@"; }
t new-session -d -s cap -x 120 -y 40 -c "$work" "$bin --state world.json"
sleep 4
out=docs/console.md
{
  echo "# crowdfund-console: what each view shows"
  echo
  echo "Captured from a real terminal (tmux, 120×40; the last one at 80×24) on a local world after"
  echo "400 simulated payments."
  echo "Regenerate with \`bash scripts/capture-console.sh\`."
} > "$out"
capture() {
  printf '\n## %s\n\n' "$1" >> "$out"
  if [ -n "${2:-}" ]; then printf '%s\n\n' "$2" >> "$out"; fi
  printf '```\n' >> "$out"
  t capture-pane -p -t cap | sed -e 's/[[:space:]]*$//' >> "$out"
  printf '```\n' >> "$out"
}
for view in "1:Overview" "2:DLQ browser (etc_parked)" "3:Goal check" "4:Projects" "5:Topology" "6:Health" "7:Audit"; do
  key=${view%%:*}
  t send-keys -t cap "$key"
  sleep 1.5
  if [ "$key" = 2 ]; then t send-keys -t cap j j j; sleep 0.5; fi
  if [ "$key" = 3 ]; then t send-keys -t cap End Enter; sleep 1.5; fi
  capture "${view#*:}"
done
t send-keys -t cap 2 c
sleep 1.5
capture "DLQ grouped by cause (c)" "The same messages by failure cause, the largest group first: enter opens a group, a marks it
whole, r redrives it (the question names the cause and what the ledger says of its payments)."
t send-keys -t cap c
sleep 0.5
t send-keys -t cap Space Space r
sleep 1
capture "Redrive confirmation"
t send-keys -t cap n '?'
sleep 1
capture "Help (?)"
t send-keys -t cap q 1 q
while t has-session -t cap 2>/dev/null; do sleep 0.2; done
# The smallest usual terminal: the message goes under the list.
t new-session -d -s cap -x 80 -y 24 -c "$work" "$bin --state world.json"
sleep 4
t send-keys -t cap 2
sleep 1.5
t send-keys -t cap j j j
sleep 0.5
capture "DLQ browser at 80×24" "Below 120 columns the message goes under the list (enter or tab gives it the whole
screen, tab or esc gives it back), ids and queue names stay whole, and every view stacks its panes
rather than cut them."
t send-keys -t cap q q
echo "wrote $out"
