#!/usr/bin/env bash
# Builds the six Lambda deployment zips for the provided.al2023 runtime:
#
#   scripts/build-lambda-zips.sh OUT_DIR
#
# makes OUT_DIR/<function>.zip for each function of the topology (broker, pg, send_email,
# funding_update, transaction_check, dlq_handler; the names terraform deploys), each holding
# one executable named `bootstrap`: the `lambda-*` binary of crowdfund-handlers, built with the
# size-oriented `lambda` profile (Cargo.toml) for the host's architecture. Terraform's functions
# are arm64, so CI builds on an arm64 runner; a zip built elsewhere says so.
#
# provided.al2023 has glibc 2.34: every binary's GLIBC_ symbol versions are checked against
# it, and the build fails if one needs more (then build on an older distribution, or with
# cargo-zigbuild targeting <arch>-unknown-linux-gnu.2.34).
#
# The zips are reproducible: fixed timestamps, so an unchanged binary gives an unchanged zip.
set -euo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: scripts/build-lambda-zips.sh OUT_DIR}
profile=lambda
max_glibc=2.34
functions=(broker pg send_email funding_update transaction_check dlq_handler)

for tool in cargo objdump python3; do
  command -v "$tool" >/dev/null || { echo "build-lambda-zips: $tool is needed and not installed" >&2; exit 1; }
done

arch=$(uname -m)
case "$arch" in
  aarch64 | arm64) arch=arm64 ;;
  x86_64) echo "note: building x86_64 zips on this host; terraform's functions are arm64 (CI builds those on an arm64 runner)" >&2 ;;
  *) echo "build-lambda-zips: Lambda runs arm64 or x86_64, not $arch" >&2; exit 1 ;;
esac

mkdir -p "$out"
target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
total=${#functions[@]}
started=$(date +%s)

human() { python3 -c 'import sys; print(f"{int(sys.argv[1])/1e6:.1f} MB")' "$1"; }

i=0
for f in "${functions[@]}"; do
  i=$((i + 1))
  bin="lambda-${f//_/-}"
  printf '[%d/%d] %-17s building %s (profile %s, %ss so far)\n' "$i" "$total" "$f" "$bin" "$profile" "$(( $(date +%s) - started ))"
  cargo build --locked --quiet --profile "$profile" -p crowdfund-handlers --features lambda --bin "$bin"
  binary="$target_dir/$profile/$bin"

  needed=$(objdump -T "$binary" | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -uV | tail -n 1)
  if [ -n "$needed" ] && [ "$(printf '%s\n%s\n' "$needed" "$max_glibc" | sort -V | tail -n 1)" != "$max_glibc" ]; then
    echo "build-lambda-zips: $bin needs GLIBC_$needed; provided.al2023 has $max_glibc (build on an older distribution or with cargo-zigbuild)" >&2
    exit 1
  fi

  python3 - "$binary" "$out/$f.zip" <<'PY'
import sys, zipfile
binary, zip_path = sys.argv[1], sys.argv[2]
info = zipfile.ZipInfo("bootstrap", date_time=(1980, 1, 1, 0, 0, 0))
info.external_attr = 0o100755 << 16  # a regular, executable file: Lambda runs it as is
info.compress_type = zipfile.ZIP_DEFLATED
with open(binary, "rb") as src, zipfile.ZipFile(zip_path, "w") as z:
    z.writestr(info, src.read(), compresslevel=9)
PY
  printf '[%d/%d] %-17s %s: bootstrap %s, zip %s, needs GLIBC_%s (≤ %s)\n' "$i" "$total" "$f" "$out/$f.zip" \
    "$(human "$(stat -c %s "$binary")")" "$(human "$(stat -c %s "$out/$f.zip")")" "${needed:-none}" "$max_glibc"
done
echo "built ${total} zips for $arch in $out ($(( $(date +%s) - started ))s)"
