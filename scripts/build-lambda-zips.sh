#!/usr/bin/env bash
# Builds the six Lambda deployment zips for the provided.al2023 runtime:
#
#   scripts/build-lambda-zips.sh [--arch arm64|x86_64] OUT_DIR
#
# makes OUT_DIR/<function>.zip for each function of the topology (broker, pg, send_email,
# funding_update, transaction_check, dlq_handler; the names terraform deploys), each holding
# one executable named `bootstrap`: the `lambda-*` binary of crowdfund-handlers, built with the
# size-oriented `lambda` profile (Cargo.toml) for --arch, arm64 by default (terraform's
# functions are arm64).
#
# On a host of that architecture (CI's arm64 runner) it is a plain `cargo build`. Otherwise it
# cross-compiles with cargo-zigbuild, zig linking against glibc 2.34 (target
# <arch>-unknown-linux-gnu.2.34), into its own target dir (target/lambda-<arch>), so the host's
# builds are left alone. It installs what that needs and says so:
#   - a rustc with the target's standard library: Debian's rustc-web with
#     libstd-rust-web-dev:<arch> (multiarch, from bookworm-security), installed with apt-get when
#     missing (needs root or sudo), unless rustup's toolchain already has the target
#     (`rustup target add`); LAMBDA_RUSTC=/path/to/rustc picks one;
#   - cargo-zigbuild and zig (PyPI `cargo-zigbuild`, `ziglang`; versions pinned below) in a
#     venv, target/lambda-venv.
#
# Every zip is checked, and the build fails naming the function and the limit, if:
#   - its bootstrap is not an ELF executable for --arch;
#   - it needs a GLIBC_ symbol version newer than provided.al2023's 2.34 (objdump -T, or
#     readelf when this host's objdump cannot read the target's ELF);
#   - the zip is larger than 8 MB (8,000,000 bytes; the README's budget).
# A table of the sizes closes the run.
#
# The zips are reproducible: fixed timestamps, so an unchanged binary gives an unchanged zip.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: scripts/build-lambda-zips.sh [--arch arm64|x86_64] OUT_DIR" >&2; exit 2; }

arch=arm64
out=
while [ $# -gt 0 ]; do
  case "$1" in
    --arch) [ $# -ge 2 ] || usage; arch=$2; shift 2 ;;
    --arch=*) arch=${1#--arch=}; shift ;;
    -h | --help) usage ;;
    -*) echo "build-lambda-zips: unknown option $1" >&2; usage ;;
    *) [ -z "$out" ] || usage; out=$1; shift ;;
  esac
done
[ -n "$out" ] || usage

profile=lambda
max_glibc=2.34
max_zip_bytes=8000000
functions=(broker pg send_email funding_update transaction_check dlq_handler)
CARGO_ZIGBUILD_VERSION="0.24.1"
ZIGLANG_VERSION="0.15.2"
venv=target/lambda-venv

case "$arch" in
  arm64 | aarch64) arch=arm64; triple=aarch64-unknown-linux-gnu; deb_arch=arm64; elf_machine=183 ;;
  x86_64 | amd64) arch=x86_64; triple=x86_64-unknown-linux-gnu; deb_arch=amd64; elf_machine=62 ;;
  *) echo "build-lambda-zips: Lambda runs arm64 or x86_64, not $arch" >&2; exit 2 ;;
esac
case "$(uname -m)" in
  aarch64 | arm64) host=arm64 ;;
  x86_64 | amd64) host=x86_64 ;;
  *) host=$(uname -m) ;;
esac

for tool in cargo python3; do
  command -v "$tool" >/dev/null || { echo "build-lambda-zips: $tool is needed and not installed" >&2; exit 1; }
done

as_root() {
  if [ "$(id -u)" = 0 ]; then "$@"
  elif command -v sudo >/dev/null; then sudo "$@"
  else echo "build-lambda-zips: installing with apt-get needs root (or sudo): $*" >&2; exit 1
  fi
}

# A rustc whose sysroot has the target's standard library: its path, or nothing.
rustc_with_std() {
  local rustc=$1 libdir
  command -v "$rustc" >/dev/null || return 0
  libdir=$("$rustc" --print target-libdir --target "$triple" 2>/dev/null) || return 0
  if compgen -G "$libdir/libstd-*.rlib" >/dev/null; then command -v "$rustc"; fi
}

# Debian's rustc-web and the target's libstd-rust-web-dev (the same version, multiarch).
install_debian_rust() {
  if ! command -v apt-get >/dev/null || ! command -v dpkg >/dev/null; then
    echo "build-lambda-zips: no Rust standard library for $triple: \`rustup target add $triple\`, or build on an $arch host" >&2
    exit 1
  fi
  echo "build-lambda-zips: installing Debian's rustc-web and libstd-rust-web-dev:$deb_arch (the $triple standard library) with apt-get"
  if [ "$deb_arch" != "$(dpkg --print-architecture)" ] && ! dpkg --print-foreign-architectures | grep -qx "$deb_arch"; then
    echo "build-lambda-zips: dpkg --add-architecture $deb_arch"
    as_root dpkg --add-architecture "$deb_arch"
  fi
  as_root apt-get update -qq
  if ! apt-cache show "libstd-rust-web-dev:$deb_arch" >/dev/null 2>&1; then
    echo "build-lambda-zips: apt has no libstd-rust-web-dev:$deb_arch (it is in Debian bookworm-security); \`rustup target add $triple\`, or build on an $arch host" >&2
    exit 1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    rustc-web "libstd-rust-web-dev:$deb_arch" >/dev/null
}

install_zigbuild() {
  if [ -x "$venv/bin/cargo-zigbuild" ] \
    && "$venv/bin/cargo-zigbuild" --version 2>/dev/null | grep -qx "cargo-zigbuild $CARGO_ZIGBUILD_VERSION" \
    && [ "$("$venv/bin/python" -m ziglang version 2>/dev/null)" = "$ZIGLANG_VERSION" ]; then
    return
  fi
  echo "build-lambda-zips: installing cargo-zigbuild==$CARGO_ZIGBUILD_VERSION and ziglang==$ZIGLANG_VERSION from PyPI into $venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check \
    "cargo-zigbuild==$CARGO_ZIGBUILD_VERSION" "ziglang==$ZIGLANG_VERSION" >"$venv/pip.log" 2>&1 || {
    echo "build-lambda-zips: pip could not install cargo-zigbuild and ziglang; see $venv/pip.log" >&2
    tail -n 20 "$venv/pip.log" >&2
    exit 1
  }
}

target_dir=$(cargo metadata --format-version 1 --no-deps | python3 -c 'import json,sys; print(json.load(sys.stdin)["target_directory"])')
if [ "$arch" = "$host" ]; then
  mode=native
  build() { cargo build --locked --quiet --profile "$profile" -p crowdfund-handlers --features lambda --bin "$1"; }
  binary_of() { echo "$target_dir/$profile/$1"; }
else
  mode="cross ($host → $arch)"
  if [ -n "${LAMBDA_RUSTC:-}" ]; then
    rustc=$(rustc_with_std "$LAMBDA_RUSTC")
    [ -n "$rustc" ] || { echo "build-lambda-zips: LAMBDA_RUSTC=$LAMBDA_RUSTC has no standard library for $triple" >&2; exit 1; }
  else
    # Debian's first, the compiler a fresh machine gets: every machine then builds the same.
    rustc=$(rustc_with_std /usr/bin/rustc)
    [ -n "$rustc" ] || rustc=$(rustc_with_std rustc)
  fi
  if [ -z "$rustc" ]; then
    install_debian_rust
    rustc=$(rustc_with_std /usr/bin/rustc)
    [ -n "$rustc" ] || { echo "build-lambda-zips: /usr/bin/rustc still has no standard library for $triple" >&2; exit 1; }
  fi
  install_zigbuild
  echo "build-lambda-zips: compiler $("$rustc" -V) ($rustc), cargo-zigbuild $CARGO_ZIGBUILD_VERSION, zig $ZIGLANG_VERSION, target $triple.$max_glibc"
  cross_dir="$target_dir/lambda-$arch"
  # The venv first on PATH: cargo-zigbuild runs zig as `python3 -m ziglang`.
  build() {
    PATH="$PWD/$venv/bin:$PATH" RUSTC="$rustc" "$venv/bin/cargo-zigbuild" zigbuild --locked --quiet \
      --profile "$profile" -p crowdfund-handlers --features lambda --bin "$1" \
      --target "$triple.$max_glibc" --target-dir "$cross_dir"
  }
  binary_of() { echo "$cross_dir/$triple/$profile/$1"; }
fi
command -v objdump >/dev/null || command -v readelf >/dev/null || {
  echo "build-lambda-zips: objdump or readelf (binutils) is needed and not installed" >&2; exit 1; }

# The GLIBC_ versions a binary's dynamic symbols need, newest last.
glibc_versions() {
  local syms
  if syms=$(objdump -T "$1" 2>/dev/null); then :; else syms=$(readelf --dyn-syms -W "$1"); fi
  grep -o 'GLIBC_[0-9][0-9.]*' <<<"$syms" | sed 's/GLIBC_//' | sort -uV
}

fail() { echo "build-lambda-zips: $*" >&2; exit 1; }

mkdir -p "$out"
total=${#functions[@]}
started=$(date +%s)
echo "building $total zips for $arch ($mode, profile $profile) into $out"

human() { python3 -c 'import sys; print(f"{int(sys.argv[1])/1e6:.2f} MB")' "$1"; }

# The closing table: one row per zip, sizes in bytes and MB.
row='| %-17s | %9s | %7s | %15s | %9s | %5s |'
table=()
i=0
for f in "${functions[@]}"; do
  i=$((i + 1))
  bin="lambda-${f//_/-}"
  printf '[%d/%d] %-17s building %s (%ss so far)\n' "$i" "$total" "$f" "$bin" "$(( $(date +%s) - started ))"
  build "$bin"
  binary=$(binary_of "$bin")
  [ -f "$binary" ] || fail "$f: the build left no $binary"

  machine=$(python3 -c '
import sys
with open(sys.argv[1], "rb") as b:
    h = b.read(20)
print(int.from_bytes(h[18:20], "little") if h[:4] == b"\x7fELF" and h[4] == 2 and h[5] == 1 else "not a 64-bit little-endian ELF file")' "$binary")
  [ "$machine" = "$elf_machine" ] || fail "$f: $binary is not an ELF executable for $arch (e_machine $machine, expected $elf_machine)"

  needed=$(glibc_versions "$binary" | tail -n 1)
  if [ -n "$needed" ] && [ "$(printf '%s\n%s\n' "$needed" "$max_glibc" | sort -V | tail -n 1)" != "$max_glibc" ]; then
    hint=""
    [ "$mode" != native ] || hint=" (this host's glibc is newer: build on an older distribution, or cross-compile from a host of the other architecture, which links against $max_glibc)"
    fail "$f: $bin needs GLIBC_$needed; the limit is provided.al2023's GLIBC_$max_glibc$hint"
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
  zip_bytes=$(stat -c %s "$out/$f.zip")
  bin_bytes=$(stat -c %s "$binary")
  ((zip_bytes <= max_zip_bytes)) || { rm -f "$out/$f.zip"; fail "$f: $f.zip is $zip_bytes bytes ($(human "$zip_bytes")); the limit is $max_zip_bytes bytes ($(human "$max_zip_bytes")); not kept"; }
  printf '[%d/%d] %-17s %s: %s bootstrap %s, zip %s, needs GLIBC_%s (≤ %s)\n' "$i" "$total" "$f" "$out/$f.zip" \
    "$arch" "$(human "$bin_bytes")" "$(human "$zip_bytes")" "${needed:-none}" "$max_glibc"
  table+=("$(printf "$row" "$f" "$zip_bytes" "$(human "$zip_bytes")" "$bin_bytes" "$(human "$bin_bytes")" "${needed:-none}")")
done

echo
printf "$row\n" function "zip bytes" zip "bootstrap bytes" bootstrap GLIBC
printf "$row\n" "" "" "" "" "" "" | tr ' ' '-'
printf '%s\n' "${table[@]}"
echo
echo "built $total zips for $arch in $out ($(( $(date +%s) - started ))s); each ≤ $(human "$max_zip_bytes"), GLIBC ≤ $max_glibc"
