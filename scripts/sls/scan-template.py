#!/usr/bin/env python3
"""Run cfn-lint and checkov (pinned, .local/scanners-venv) on a packaged template.

    python3 scripts/sls/scan-template.py [TEMPLATE] [--tool cfn-lint|checkov]

TEMPLATE defaults to .serverless/cloudformation-template-update-stack.json
(`make package` writes it). Fails (exit 1) on:
  - any cfn-lint match (error, warning or informational) that the template does
    not ignore (a resource's Metadata cfn-lint.config.ignore_checks, each
    explained next to it in serverless.yml);
  - any failed checkov check;
  - a checkov skip without a comment (every skip states its reason).
Each finding is printed. The venv is created by ensure-scanners.sh when missing.
Checkov runs with --skip-download (and in `unshare -n` when available): the
guidelines server is not needed and not asked.
"""
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
VENV = os.path.join(ROOT, ".local", "scanners-venv", "bin")
DEFAULT_TEMPLATE = os.path.join(ROOT, ".serverless", "cloudformation-template-update-stack.json")


def offline_prefix():
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n"]
    return []


def version(tool):
    r = subprocess.run([os.path.join(VENV, "pip"), "show", tool], capture_output=True, text=True)
    for line in r.stdout.splitlines():
        if line.startswith("Version: "):
            return line.split(": ", 1)[1]
    return "?"


def run_cfn_lint(template):
    """Returns a list of finding lines (empty when clean)."""
    r = subprocess.run([os.path.join(VENV, "cfn-lint"), "--format", "json", "--", template],
                       capture_output=True, text=True, timeout=600)
    try:
        matches = json.loads(r.stdout or "[]")
    except ValueError:
        return [f"cfn-lint did not run (rc={r.returncode}): {(r.stdout + r.stderr).strip()[-2000:]}"]
    out = []
    for m in matches:
        rule = m.get("Rule", {}).get("Id", "?")
        loc = m.get("Location", {})
        path = "/".join(str(p) for p in loc.get("Path", []) or [])
        line = loc.get("Start", {}).get("LineNumber", "?")
        out.append(f"cfn-lint {m.get('Level', '?')} {rule} at {path or '?'} (line {line}): {m.get('Message', '')}")
    if not matches and r.returncode != 0:
        out.append(f"cfn-lint exited {r.returncode}: {(r.stdout + r.stderr).strip()[-2000:]}")
    return out


def run_checkov(template):
    """Returns (finding lines, summary dict, skipped [(id, resource, comment)])."""
    env = {**os.environ, "BC_SKIP_MAPPING": "TRUE", "CHECKOV_RUN_SCA_PACKAGE_SCAN_V2": "false"}
    cmd = offline_prefix() + [os.path.join(VENV, "checkov"), "--file", template,
                              "--framework", "cloudformation", "--skip-download",
                              "--output", "json"]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    try:
        data = json.loads(r.stdout)
    except ValueError:
        return [f"checkov did not run (rc={r.returncode}): {(r.stdout + r.stderr).strip()[-2000:]}"], {}, []
    reports = data if isinstance(data, list) else [data]
    out, skipped, summary = [], [], {}
    for rep in reports:
        if "results" not in rep:  # a report with nothing to check has only a summary
            summary = rep.get("summary", rep)
            continue
        summary = rep.get("summary", {})
        if summary.get("parsing_errors"):
            out.append(f"checkov: {summary['parsing_errors']} parsing error(s)")
        for c in rep["results"].get("failed_checks", []):
            out.append(f"checkov FAILED {c['check_id']} on {c['resource']}: {c['check_name']}"
                       f" (fix it, or skip it in serverless.yml with the reason)")
        for c in rep["results"].get("skipped_checks", []):
            comment = (c.get("check_result", {}).get("suppress_comment") or "").strip()
            skipped.append((c["check_id"], c["resource"], comment))
            if len(comment) < 20:
                out.append(f"checkov skip of {c['check_id']} on {c['resource']} has no reason: {comment!r}")
    return out, summary, skipped


def main(argv):
    tools = ["cfn-lint", "checkov"]
    args = list(argv)
    if "--tool" in args:
        i = args.index("--tool")
        tools = [args[i + 1]]
        del args[i:i + 2]
    template = os.path.abspath(args[0]) if args else DEFAULT_TEMPLATE
    if not os.path.isfile(template):
        sys.exit(f"{template}: no such file (run `make package` first)")
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "sls", "ensure-scanners.sh")],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"ensure-scanners.sh failed:\n{r.stdout}{r.stderr}")
    print(r.stdout, end="", file=sys.stderr)

    status = 0
    if "cfn-lint" in tools:
        findings = run_cfn_lint(template)
        print(f"== cfn-lint {version('cfn-lint')} on {os.path.relpath(template, ROOT)}: "
              f"{len(findings)} finding(s)")
        for f in findings:
            print(f"  {f}")
        status |= bool(findings)
    if "checkov" in tools:
        findings, summary, skipped = run_checkov(template)
        print(f"== checkov {version('checkov')} on {os.path.relpath(template, ROOT)}: "
              f"passed {summary.get('passed', '?')}, failed {summary.get('failed', '?')}, "
              f"skipped {summary.get('skipped', '?')} (each skip's reason is in serverless.yml)")
        for cid, res, _ in skipped:
            print(f"  skipped {cid} on {res}")
        for f in findings:
            print(f"  {f}")
        status |= bool(findings)
    print("scan: OK" if status == 0 else "scan: FAILED", file=sys.stderr if status == 0 else sys.stdout)
    return 1 if status else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
