#!/usr/bin/env bash
# cargo-lambda, whose Lambda Runtime API emulator (`cargo lambda watch --only-lambda-apis`) the
# test handlers/tests/aws/runtime_emulator.rs runs the `lambda-*` binaries under.
#
#   scripts/cargo-lambda.sh     install (once) into target/cargo-lambda/venv and print the path
#                               of the cargo-lambda binary (absolute), nothing else on stdout
#
#   export CROWDFUND_CARGO_LAMBDA=$(scripts/cargo-lambda.sh)
#
# Only pip from PyPI is used; the version is pinned. The wheel is the released binary. It is
# installed without its `ziglang` dependency: the emulator does not compile anything (zig is
# for `cargo lambda build`; scripts/build-lambda-zips.sh brings its own).
set -euo pipefail
cd "$(dirname "$0")/.."
CARGO_LAMBDA_VERSION="1.9.2"
dir="${CROWDFUND_CARGO_LAMBDA_DIR:-target/cargo-lambda}"
venv="$dir/venv"
python="${PYTHON:-python3}"
bin="$venv/bin/cargo-lambda"

installed() {
  [ -x "$bin" ] && "$bin" lambda --version 2>/dev/null | grep -q "^cargo-lambda $CARGO_LAMBDA_VERSION "
}

if ! installed; then
  echo "cargo-lambda.sh: installing cargo-lambda==$CARGO_LAMBDA_VERSION from PyPI into $venv" >&2
  mkdir -p "$dir"
  rm -rf "$venv"
  "$python" -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps \
    "cargo-lambda==$CARGO_LAMBDA_VERSION" >"$dir/pip.log" 2>&1 || {
    echo "cargo-lambda.sh: pip could not install cargo-lambda==$CARGO_LAMBDA_VERSION; see $dir/pip.log" >&2
    tail -n 20 "$dir/pip.log" >&2
    exit 1
  }
  if ! installed; then
    echo "cargo-lambda.sh: $bin does not run or is not version $CARGO_LAMBDA_VERSION" >&2
    "$bin" lambda --version >&2 || true
    exit 1
  fi
fi
echo "$(cd "$(dirname "$bin")" && pwd)/cargo-lambda"
