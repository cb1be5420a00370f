"""Cross-file checks that `terraform validate` would make, for machines without terraform.

For every module directory under terraform/ (the root, bootstrap/ and modules/*):
  - every var.X, local.X, module.X(.Y), data.T.N and resource T.N it references is declared,
  - every module call passes only declared variables and every variable without a default,
  - every output it reads from a child module exists.
Prints one line per finding and exits 1 if there is any.
"""

import pathlib
import re
import sys

import hcl2

ROOT = pathlib.Path("terraform")
META_ARGS = {"source", "version", "count", "for_each", "depends_on", "providers"}
# Names that look like resource references but are not (iteration and meta objects).
NOT_RESOURCES = {"each", "count", "self", "path", "terraform", "var", "local", "module", "data"}


def strip_comments(text):
    out = []
    for line in text.splitlines():
        # A '#' inside a string (e.g. a JSON schema's "$schema") is rare here; keep such lines whole.
        stripped = line.lstrip()
        if stripped.startswith("#") or stripped.startswith("//"):
            continue
        out.append(line)
    return "\n".join(out)


def labelled(block):
    return [(unquote(k), v) for k, v in block.items() if not k.startswith("__")]


def load(directory):
    decl = {"variables": {}, "locals": set(), "modules": {}, "resources": set(), "data": set(), "outputs": set()}
    text = ""
    for path in sorted(directory.glob("*.tf")):
        raw = path.read_text()
        text += strip_comments(raw) + "\n"
        with path.open() as f:
            doc = hcl2.load(f)
        # python-hcl2 keeps block labels quoted and adds "__…" bookkeeping keys.
        for block in doc.get("variable", []):
            for name, body in labelled(block):
                decl["variables"][name] = "default" in body
        for block in doc.get("locals", []):
            decl["locals"].update(name for name, _ in labelled(block))
        for block in doc.get("module", []):
            for name, body in labelled(block):
                decl["modules"][name] = body
        for block in doc.get("resource", []):
            for rtype, named in labelled(block):
                decl["resources"].update((rtype, rname) for rname, _ in labelled(named))
        for block in doc.get("data", []):
            for dtype, named in labelled(block):
                decl["data"].update((dtype, dname) for dname, _ in labelled(named))
        for block in doc.get("output", []):
            decl["outputs"].update(name for name, _ in labelled(block))
    return decl, text


def unquote(s):
    return s.strip('"') if isinstance(s, str) else s


def main():
    dirs = [ROOT, ROOT / "bootstrap"] + sorted(p for p in (ROOT / "modules").iterdir() if p.is_dir())
    parsed = {d.resolve(): load(d) for d in dirs}
    findings = []
    for d in dirs:
        decl, text = parsed[d.resolve()]
        where = str(d)
        for name in sorted(set(re.findall(r"\bvar\.([A-Za-z_][\w-]*)", text))):
            if name not in decl["variables"]:
                findings.append(f"{where}: var.{name} is not declared")
        for name in sorted(set(re.findall(r"\blocal\.([A-Za-z_][\w-]*)", text))):
            if name not in decl["locals"]:
                findings.append(f"{where}: local.{name} is not declared")
        for dtype, dname in sorted(set(re.findall(r"\bdata\.(\w+)\.(\w+)", text))):
            if (dtype, dname) not in decl["data"]:
                findings.append(f"{where}: data.{dtype}.{dname} is not declared")
        for rtype, rname in sorted(set(re.findall(r"(?<![\w.\"/:-])(aws_\w+)\.(\w+)", text))):
            if (rtype, rname) not in decl["resources"] and rtype not in NOT_RESOURCES:
                findings.append(f"{where}: resource {rtype}.{rname} is not declared")
        for mname, out in sorted(set(re.findall(r"\bmodule\.(\w+)\.(\w+)", text))):
            if mname not in decl["modules"]:
                findings.append(f"{where}: module.{mname} is not declared")
                continue
            child = (d / unquote(decl["modules"][mname]["source"])).resolve()
            if child in parsed and out not in parsed[child][0]["outputs"]:
                findings.append(f"{where}: module.{mname} has no output {out}")
        for mname, body in decl["modules"].items():
            child = (d / unquote(body["source"])).resolve()
            if child not in parsed:
                findings.append(f"{where}: module.{mname} source {body['source']} is not a module here")
                continue
            variables = parsed[child][0]["variables"]
            passed = {k for k in body if k not in META_ARGS and not k.startswith("__")}
            for arg in sorted(passed - set(variables)):
                findings.append(f"{where}: module.{mname} passes {arg}, which {child.name} does not declare")
            for var, has_default in sorted(variables.items()):
                if not has_default and var not in passed:
                    findings.append(f"{where}: module.{mname} does not pass required variable {var}")
    for f in findings:
        print(f, file=sys.stderr)
    print(f"references: {len(dirs)} module directories, {len(findings)} findings")
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
