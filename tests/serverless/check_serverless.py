#!/usr/bin/env python3
"""Offline checks of the deployment configuration (serverless.yml + the ASL definition).

Run through `make test-serverless` (tests/serverless/run.sh). Nothing here calls
AWS: AWS credentials are stripped from the environment and, where the kernel
allows it, every `sls` command runs in a network namespace with no network at
all (`unshare -n`). The real definition is never edited: the broken cases are
written into temporary copies of the project files.

Prints one PASS/FAIL line per check and ends with "N passed, M failed".
"""
import copy
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DEFINITION = os.path.join(ROOT, "statemachine", "report-pipeline.asl.json")


def _functions():
    """The function list the Makefile declares (and exports), read from there when run alone."""
    listed = os.environ.get("FUNCTIONS", "").split()
    if listed:
        return listed
    with open(os.path.join(ROOT, "Makefile")) as f:
        m = re.search(r"^FUNCTIONS := (.+)$", f.read(), re.M)
    return m.group(1).split()


FUNCTIONS = _functions()
TOKEN_SENTINEL = "sentinel-token-value-that-must-not-leak-7f3a"

# Environment each function must (and may only) get, besides RUST_LOG.
EXPECTED_ENV = {
    "CreateReport": {"REPORT_API_URL", "REPORT_API_TOKEN_PARAMETER", "REPORT_API_AUTH_HEADER",
                     "REPORT_PARAMETERS", "MAX_POLLS", "POLL_INITIAL_WAIT_SECONDS",
                     "POLL_MAX_WAIT_SECONDS", "POLL_BACKOFF_RATE"},
    "PollReport": {"REPORT_API_URL", "REPORT_API_TOKEN_PARAMETER", "REPORT_API_AUTH_HEADER",
                   "MAX_POLLS", "POLL_INITIAL_WAIT_SECONDS", "POLL_MAX_WAIT_SECONDS",
                   "POLL_BACKOFF_RATE"},
    "DownloadReport": {"REPORT_API_URL", "REPORT_API_TOKEN_PARAMETER", "REPORT_API_AUTH_HEADER",
                       "DOWNLOAD_ALLOWED_HOSTS", "REPORTS_BUCKET", "REPORTS_PREFIX"},
    "UpdateSite": {"REPORTS_BUCKET", "REPORTS_PREFIX", "SITE_BUCKET", "SITE_PREFIX", "SITE_TITLE",
                   "SITE_KEEP_REPORTS"},
}
EXPECTED_MEMORY = {"CreateReport": 128, "PollReport": 128, "DownloadReport": 256, "UpdateSite": 256}
EXPECTED_TIMEOUT = {"CreateReport": 30, "PollReport": 30, "DownloadReport": 900, "UpdateSite": 900}

passed = 0
failed = 0


def report(ok, name, detail=""):
    global passed, failed
    if ok:
        passed += 1
        print(f"PASS: {name}")
    else:
        failed += 1
        print(f"FAIL: {name}" + (f"\n      {detail}" if detail else ""))


def check(name, fn):
    """Run fn(); it returns None/True on success, or a failure detail (str/False)."""
    try:
        result = fn()
    except Exception as e:  # a broken check is a failed check
        report(False, name, f"{type(e).__name__}: {e}")
        return
    report(result is None or result is True, name, "" if result in (None, True) else str(result))


# ---------------------------------------------------------------- helpers

def offline_prefix():
    """`unshare -n` when it works here (root), so sls cannot reach any network."""
    if shutil.which("unshare"):
        probe = subprocess.run(["unshare", "-n", "true"], capture_output=True)
        if probe.returncode == 0:
            return ["unshare", "-n"]
    return []


OFFLINE = offline_prefix()


def sls_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and k not in ("SLS_ORG", "SERVERLESS_ACCESS_KEY")}
    env.update({
        "SLS_TELEMETRY_DISABLED": "1",
        "SLS_NOTIFICATIONS_MODE": "off",
        "CI": env.get("CI", "true"),
        # A token someone might have exported by mistake: must never reach the template.
        "REPORT_API_TOKEN": TOKEN_SENTINEL,
    })
    return env


def sls_package(project_dir, out_dir, *extra):
    sls = os.path.join(ROOT, "node_modules", ".bin", "sls")
    cmd = OFFLINE + [sls, "package", "--stage", "dev", "--package", out_dir, *extra]
    return subprocess.run(cmd, cwd=project_dir, env=sls_env(), capture_output=True, text=True,
                          timeout=300)


def make_project_copy(definition):
    """A throwaway copy of the files `sls package` reads, with the given definition."""
    d = tempfile.mkdtemp(prefix="sls-copy-")
    shutil.copy(os.path.join(ROOT, "serverless.yml"), d)
    shutil.copy(os.path.join(ROOT, "package.json"), d)
    os.symlink(os.path.join(ROOT, "node_modules"), os.path.join(d, "node_modules"))
    shutil.copytree(os.path.join(ROOT, "dist"), os.path.join(d, "dist"))
    os.makedirs(os.path.join(d, "statemachine"))
    with open(os.path.join(d, "statemachine", "report-pipeline.asl.json"), "w") as f:
        json.dump(definition, f, indent=2)
    return d


def load_definition():
    with open(DEFINITION) as f:
        return json.load(f)


def broken_definitions():
    """(label, definition) pairs, each invalid in one way."""
    base = load_definition()
    out = []

    d = copy.deepcopy(base)
    d["States"]["DownloadReport"]["Next"] = "NoSuchState"
    out.append(("Next points at a missing state", d))

    d = copy.deepcopy(base)
    d["States"]["PollReport"]["Catch"][0]["Next"] = "PipelineFailedTypo"
    out.append(("Catch.Next points at a missing state", d))

    d = copy.deepcopy(base)
    d["StartAt"] = "NotAState"
    out.append(("StartAt names a missing state", d))

    d = copy.deepcopy(base)
    del d["States"]["IsReportReady"]["Choices"]
    out.append(("Choice state without Choices", d))
    return out


def lint_tool(tool, path):
    """Run one linter on a definition file; returns CompletedProcess."""
    if tool == "asl-validator":
        cmd = [os.path.join(ROOT, "node_modules", ".bin", "asl-validator"), "--json-path", path]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    rendered = os.path.join(tempfile.mkdtemp(prefix="asl-render-"), "rendered.asl.json")
    r = subprocess.run([sys.executable, os.path.join(ROOT, "scripts", "sls", "render-definition.py"),
                        path, rendered], capture_output=True, text=True)
    if r.returncode != 0:
        return r
    statelint = os.path.join(ROOT, ".local", "statelint-venv", "bin", "statelint")
    try:
        return subprocess.run([statelint, rendered], capture_output=True, text=True, timeout=120)
    finally:
        shutil.rmtree(os.path.dirname(rendered), ignore_errors=True)


def tail(text, n=12):
    return " | ".join(text.strip().splitlines()[-n:])


def poll_budget_seconds(env, source_def, lambdas):
    """Worst-case run time of one execution with this poll policy (see serverless.yml)."""
    initial = int(env["POLL_INITIAL_WAIT_SECONDS"])
    cap = int(env["POLL_MAX_WAIT_SECONDS"])
    rate = float(env["POLL_BACKOFF_RATE"])
    polls = int(env["MAX_POLLS"])
    # Same formula as shared::polling::PollPolicy::wait_after.
    waits = sum(max(int(min(initial * rate ** min(n, 64), cap)), min(initial, cap)) for n in range(polls))
    t = {f: lambdas[f"{f}LambdaFunction"]["Properties"]["Timeout"] for f in FUNCTIONS}
    return waits + polls * t["PollReport"] + t["CreateReport"] + t["DownloadReport"] + t["UpdateSite"]


def check_poll_budget(label, template, source_def):
    R = template["Resources"]
    env = R["CreateReportLambdaFunction"]["Properties"]["Environment"]["Variables"]
    poll_env = R["PollReportLambdaFunction"]["Properties"]["Environment"]["Variables"]

    def fits():
        keys = ("MAX_POLLS", "POLL_INITIAL_WAIT_SECONDS", "POLL_MAX_WAIT_SECONDS", "POLL_BACKOFF_RATE")
        if any(env[k] != poll_env[k] for k in keys):
            return "CreateReport and PollReport disagree on the poll policy"
        worst = poll_budget_seconds(env, source_def, R)
        if worst > source_def["TimeoutSeconds"]:
            return (f"worst case {worst} s > execution TimeoutSeconds {source_def['TimeoutSeconds']} s: "
                    "the run would end in an uncaught States.Timeout before MAX_POLLS is reached")
    check(f"{label}: worst-case poll budget fits the execution TimeoutSeconds", fits)


# ---------------------------------------------------------------- setup

def setup():
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "sls", "ensure-node-modules.sh")],
                       cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        raise SystemExit("npm ci failed")
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "sls", "ensure-statelint.sh")],
                       cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        print(r.stdout + r.stderr)
        raise SystemExit("statelint venv failed")
    # Stub artifacts only where the real build's zips are missing (announced by the script).
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "sls", "stub-artifacts.sh")],
                       cwd=ROOT, capture_output=True, text=True,
                       env={**os.environ, "FUNCTIONS": " ".join(FUNCTIONS)})
    print(r.stdout, end="")
    if r.returncode != 0:
        print(r.stderr)
        raise SystemExit("could not create stub artifacts")
    stubs = []
    for fn in FUNCTIONS:
        with zipfile.ZipFile(os.path.join(ROOT, "dist", f"{fn}.zip")) as z:
            if b"REPORT_PIPELINE_STUB_ARTIFACT" in z.read("bootstrap")[:4096]:
                stubs.append(fn)
    if stubs:
        print(f"NOTE: packaging with STUB artifacts for: {', '.join(stubs)} (real zips not built)")
    else:
        print("NOTE: packaging the real artifacts in dist/")
    print("NOTE: sls runs with no AWS credentials"
          + (" and no network (unshare -n)" if OFFLINE else "; unshare -n unavailable, network not isolated"))


# ---------------------------------------------------------------- (a) + (d) real package

def template_checks(template, state, source_def):
    R = template["Resources"]
    by_type = {}
    for lid, res in R.items():
        by_type.setdefault(res["Type"], []).append(lid)
    fns = {lid: R[lid] for lid in by_type.get("AWS::Lambda::Function", [])}
    text = json.dumps(template)

    def four_functions():
        want = {f"{f}LambdaFunction" for f in FUNCTIONS}
        if set(fns) != want:
            return f"functions {sorted(fns)} != {sorted(want)}"
    check("template: exactly four Lambda functions", four_functions)

    def artifacts_distinct():
        arts = {k: v.get("package", {}).get("artifact") for k, v in state["service"]["functions"].items()}
        want = {f: f"dist/{f}.zip" for f in FUNCTIONS}
        if arts != want:
            return f"package.artifact {arts} != {want}"
        keys = [fns[f"{f}LambdaFunction"]["Properties"]["Code"]["S3Key"] for f in FUNCTIONS]
        if len({os.path.basename(k) for k in keys}) != 4:
            return f"S3 keys not distinct: {keys}"
        for f, k in zip(FUNCTIONS, keys):
            if not k.endswith(f"/{f}.zip"):
                return f"{f} S3Key {k} does not end in /{f}.zip"
    check("template: four distinct artifacts dist/<Name>.zip -> distinct S3 keys", artifacts_distinct)

    def runtime_shape():
        for f in FUNCTIONS:
            p = fns[f"{f}LambdaFunction"]["Properties"]
            got = (p["Runtime"], p["Architectures"], p["Handler"], p.get("LoggingConfig", {}).get("LogFormat"))
            if got != ("provided.al2023", ["arm64"], "bootstrap", "JSON"):
                return f"{f}: {got}"
    check("template: provided.al2023, arm64, handler bootstrap, JSON logs", runtime_shape)

    def sizes():
        for f in FUNCTIONS:
            p = fns[f"{f}LambdaFunction"]["Properties"]
            if (p["MemorySize"], p["Timeout"]) != (EXPECTED_MEMORY[f], EXPECTED_TIMEOUT[f]):
                return f"{f}: memory {p['MemorySize']} timeout {p['Timeout']}"
    check("template: memory/timeout 128/30, 128/30, 256/900, 256/900", sizes)

    def timeouts_within_states():
        for f in FUNCTIONS:
            st = source_def["States"][f]
            t = fns[f"{f}LambdaFunction"]["Properties"]["Timeout"]
            if "TimeoutSeconds" in st and t > st["TimeoutSeconds"]:
                return f"{f}: Lambda timeout {t} > state TimeoutSeconds {st['TimeoutSeconds']}"
    check("template: every Lambda timeout <= its Task's TimeoutSeconds", timeouts_within_states)

    def env_names():
        for f in FUNCTIONS:
            got = set(fns[f"{f}LambdaFunction"]["Properties"]["Environment"]["Variables"]) - {"RUST_LOG"}
            if got != EXPECTED_ENV[f]:
                return f"{f}: extra {sorted(got - EXPECTED_ENV[f])} missing {sorted(EXPECTED_ENV[f] - got)}"
    check("template: per-function environment variable names", env_names)

    def no_token():
        if TOKEN_SENTINEL in text:
            return "the exported REPORT_API_TOKEN value reached the template"
        for f in FUNCTIONS:
            env = fns[f"{f}LambdaFunction"]["Properties"]["Environment"]["Variables"]
            for k, v in env.items():
                if "TOKEN" in k and k != "REPORT_API_TOKEN_PARAMETER":
                    return f"{f}: unexpected {k}"
                if k == "REPORT_API_TOKEN_PARAMETER" and not (isinstance(v, str) and v.startswith("/")):
                    return f"{f}: REPORT_API_TOKEN_PARAMETER={v!r} is not an SSM parameter name"
        if re.search(r"Bearer\s|\"(token|apiToken|api_token)\"\s*:", text, re.I):
            return "something that looks like a token value is in the template"
    check("template: no plaintext token (only the SSM parameter name)", no_token)

    def no_sts_lookups():
        if "aws:accountId" in text or re.search(r"\b\d{12}\b", text):
            return "account id resolved at package time"
    check("template: no account id baked in (pseudo parameters only)", no_sts_lookups)

    def schedule_rule():
        rules = [R[l] for l in by_type.get("AWS::Events::Rule", [])]
        if len(rules) != 1:
            return f"{len(rules)} rules"
        p = rules[0]["Properties"]
        if p.get("ScheduleExpression") != "cron(0 * * * ? *)" or p.get("State") != "ENABLED":
            return f"rule {p.get('ScheduleExpression')} {p.get('State')}"
        target = p["Targets"][0]
        if target["Arn"] != {"Ref": "ReportPipelineStateMachine"}:
            return f"target {target['Arn']}"
        # CreateReport reads the scheduled event itself (its id is the idempotency key).
        if any(k in target for k in ("Input", "InputPath", "InputTransformer")):
            return f"the rule rewrites the scheduled event: {target}"
    check("template: one enabled hourly schedule rule passing the scheduled event to the state machine", schedule_rule)

    def one_state_machine():
        sms = by_type.get("AWS::StepFunctions::StateMachine", [])
        if sms != ["ReportPipelineStateMachine"]:
            return f"state machines {sms}"
        p = R["ReportPipelineStateMachine"]["Properties"]
        lc = p.get("LoggingConfiguration", {})
        if lc.get("Level") != "ERROR" or lc.get("IncludeExecutionData") is not False:
            return f"logging {lc}"
    check("template: one state machine with ERROR logging, no execution data", one_state_machine)

    def definition_complete():
        sub = R["ReportPipelineStateMachine"]["Properties"]["DefinitionString"]["Fn::Sub"]
        body, params = sub if isinstance(sub, list) else (sub, {})
        deployed = json.loads(body)
        if set(deployed["States"]) != set(source_def["States"]):
            return f"states differ: {sorted(set(deployed['States']) ^ set(source_def['States']))}"
        tasks = [n for n, s in source_def["States"].items() if s["Type"] == "Task"]
        if sorted(tasks) != sorted(FUNCTIONS):
            return f"tasks {tasks}"
        for name in tasks:
            res = deployed["States"][name]["Resource"]
            m = re.fullmatch(r"\$\{(\w+)\}", res)
            if not m or params.get(m.group(1)) != {"Fn::GetAtt": [f"{name}LambdaFunction", "Arn"]}:
                return f"{name}: Resource {res} -> {params.get(m.group(1)) if m else None}"
            if R.get(f"{name}LambdaFunction", {}).get("Type") != "AWS::Lambda::Function":
                return f"{name}LambdaFunction is not in the template"
        # Apart from Resource (and the QueryLanguage the plugin adds), nothing changed.
        for name, st in source_def["States"].items():
            d = {k: v for k, v in deployed["States"][name].items() if k not in ("Resource", "QueryLanguage")}
            s = {k: v for k, v in st.items() if k != "Resource"}
            if d != s:
                return f"{name} differs from the source definition"
        for k in ("StartAt", "TimeoutSeconds"):
            if deployed[k] != source_def[k]:
                return f"{k} differs"
    check("template: state machine definition has every Task, each bound to its Lambda", definition_complete)

    def sfn_role():
        pol = R["ReportPipelineStateMachineRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        invoke = [s for s in pol if "lambda:InvokeFunction" in s["Action"]]
        refs = json.dumps(invoke)
        for f in FUNCTIONS:
            if f"{f}LambdaFunction" not in refs:
                return f"state machine role cannot invoke {f}"
        if '"Resource": "*"' in refs:
            return "lambda:InvokeFunction on *"
    check("template: state machine role invokes exactly the four functions", sfn_role)

    def role_statements(f):
        role = fns[f"{f}LambdaFunction"]["Properties"]["Role"]
        if role != {"Fn::GetAtt": [f"{f}IamRoleLambdaExecution", "Arn"]}:
            raise AssertionError(f"{f} uses role {role}")
        stmts = R[f"{f}IamRoleLambdaExecution"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        if R[f"{f}IamRoleLambdaExecution"]["Properties"].get("ManagedPolicyArns"):
            raise AssertionError(f"{f} role has managed policies")
        acts = {}
        for s in stmts:
            assert s["Effect"] == "Allow"
            for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"]):
                acts.setdefault(a, []).append(json.dumps(s["Resource"]))
        return acts

    def iam_least_privilege():
        expect = {
            "CreateReport": {"ssm:GetParameter", "kms:Decrypt"},
            "PollReport": {"ssm:GetParameter", "kms:Decrypt"},
            "DownloadReport": {"ssm:GetParameter", "kms:Decrypt", "s3:PutObject", "s3:AbortMultipartUpload"},
            "UpdateSite": {"s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload",
                           "s3:DeleteObject", "s3:ListBucket"},
        }
        logs = {"logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents"}
        for f in FUNCTIONS:
            acts = role_statements(f)
            if set(acts) - logs != expect[f]:
                return f"{f}: actions {sorted(set(acts) - logs)} != {sorted(expect[f])}"
            for a, res in acts.items():
                for r in res:
                    if "*" in a or r in ('"*"', '["*"]'):
                        return f"{f}: {a} on {r}"
                    if a.startswith("logs:") and f"/aws/lambda/report-pipeline-dev-{f}:" not in r:
                        return f"{f}: {a} not limited to its own log group: {r}"
            if "ssm:GetParameter" in acts and "parameter/report-pipeline/dev/report-api-token" not in acts["ssm:GetParameter"][0]:
                return f"{f}: ssm:GetParameter on {acts['ssm:GetParameter']}"
        d = role_statements("DownloadReport")
        if any("${ReportsBucket}/reports/*" not in r for r in d["s3:PutObject"]):
            return f"DownloadReport PutObject on {d['s3:PutObject']}"
        u = role_statements("UpdateSite")
        put = " ".join(u["s3:PutObject"])
        site_keys = ("index.html", "archive.html", "archive.json", "feed.xml", "assets/*", "reports/*")
        if "ReportsBucket" in put or any(f"${{SiteBucket}}/{k}" not in put for k in site_keys) \
                or put.count("${SiteBucket}/") != len(site_keys):
            return f"UpdateSite PutObject on {put}"
        if not all("${ReportsBucket}/reports/*" in r or "${SiteBucket}/" in r for r in u["s3:GetObject"]):
            return f"UpdateSite GetObject on {u['s3:GetObject']}"
        # Retention deletes only report folders, and lists only under them.
        if len(u["s3:DeleteObject"]) != 1 or u["s3:DeleteObject"][0].count("${SiteBucket}/") != 1 \
                or '${SiteBucket}/reports/*"' not in u["s3:DeleteObject"][0]:
            return f"UpdateSite DeleteObject on {u['s3:DeleteObject']}"
        lb = [s for s in R["UpdateSiteIamRoleLambdaExecution"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
              if "s3:ListBucket" in (s["Action"] if isinstance(s["Action"], list) else [s["Action"]])]
        if len(lb) != 1 or "reports/*" not in json.dumps(lb[0].get("Condition", {})):
            return f"UpdateSite ListBucket not limited to reports/: {lb}"
    check("template: per-function IAM roles, least privilege", iam_least_privilege)

    def kms_condition():
        for f in ("CreateReport", "PollReport", "DownloadReport"):
            stmts = R[f"{f}IamRoleLambdaExecution"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
            k = [s for s in stmts if "kms:Decrypt" in s["Action"]]
            cond = json.dumps(k[0].get("Condition", {})) if k else ""
            if "kms:ViaService" not in cond or "kms:EncryptionContext:PARAMETER_ARN" not in cond:
                return f"{f}: kms:Decrypt without the SSM conditions"
    check("template: kms:Decrypt only via SSM for the token parameter", kms_condition)

    def buckets():
        for b in ("ReportsBucket", "SiteBucket"):
            p = R[b]["Properties"]
            bpa = p.get("PublicAccessBlockConfiguration", {})
            if not all(bpa.get(k) is True for k in ("BlockPublicAcls", "BlockPublicPolicy",
                                                    "IgnorePublicAcls", "RestrictPublicBuckets")):
                return f"{b}: public access not fully blocked: {bpa}"
            if "BucketEncryption" not in p:
                return f"{b}: no default encryption"
            rules = p["LifecycleConfiguration"]["Rules"]
            if not any(r.get("AbortIncompleteMultipartUpload", {}).get("DaysAfterInitiation") == 1 for r in rules):
                return f"{b}: no AbortIncompleteMultipartUpload after 1 day"
        rules = R["ReportsBucket"]["Properties"]["LifecycleConfiguration"]["Rules"]
        if not any(r.get("Prefix") == "reports/" and r.get("ExpirationInDays") == 30 for r in rules):
            return f"ReportsBucket: no reports/ expiry: {rules}"
    check("template: buckets private, encrypted, lifecycle rules", buckets)

    def site_public_read():
        st = R["SiteBucketPolicy"]["Properties"]["PolicyDocument"]["Statement"]
        allow = [s for s in st if s["Effect"] == "Allow"]
        if len(allow) != 1 or allow[0]["Principal"] != {"Service": "cloudfront.amazonaws.com"} \
                or allow[0]["Action"] != "s3:GetObject":
            return f"site allow statements {allow}"
        res = allow[0]["Resource"]
        published = ("index.html", "archive.html", "feed.xml", "assets/*", "reports/*")
        if len(res) != len(published) or not all(any(json.dumps(r).endswith(f'/{k}"') or f"/{k}" in json.dumps(r) for r in res) for k in published):
            return f"site read not limited to the published pages: {res}"
        if "AWS:SourceArn" not in json.dumps(allow[0].get("Condition")):
            return "CloudFront read not tied to this distribution"
        if "SiteUrl" not in template.get("Outputs", {}):
            return "no SiteUrl output"
    check("template: site objects readable only by this CloudFront distribution (OAC)", site_public_read)

    def log_retention():
        for f in FUNCTIONS:
            lg = R[f"{f}LogGroup"]["Properties"]
            if lg.get("RetentionInDays") != 30:
                return f"{f} log group retention {lg.get('RetentionInDays')}"
        if R["StateMachineLogGroup"]["Properties"].get("RetentionInDays") != 30:
            return "state machine log group retention"
    check("template: log groups with retention (30 days on dev)", log_retention)

    def timeout_vs_schedule():
        # hourly cron: the execution's TimeoutSeconds must be below the 3600 s period.
        if not source_def.get("TimeoutSeconds", 10**9) < 3600:
            return f"TimeoutSeconds {source_def.get('TimeoutSeconds')} >= schedule period 3600"
    check("definition: execution TimeoutSeconds < hourly schedule period", timeout_vs_schedule)


def run():
    setup()
    source_def = load_definition()
    work = tempfile.mkdtemp(prefix="sls-checks-")
    try:
        # (a) the real project, the real definition, validate: true
        out = os.path.join(work, "real")
        r = sls_package(ROOT, out)
        ok = r.returncode == 0 and 'State machine "ReportPipeline" definition is valid' in r.stdout + r.stderr
        report(ok, "sls package (validate: true) succeeds on the real definition",
               tail(r.stdout + r.stderr))
        if ok:
            with open(os.path.join(out, "cloudformation-template-update-stack.json")) as f:
                template = json.load(f)
            with open(os.path.join(out, "serverless-state.json")) as f:
                state = json.load(f)
            template_checks(template, state, source_def)
            check_poll_budget("dev", template, source_def)

        # per-stage params: a prod package with an overridden cron
        out = os.path.join(work, "prod")
        sls = os.path.join(ROOT, "node_modules", ".bin", "sls")
        r = subprocess.run(OFFLINE + [sls, "package", "--stage", "prod", "--package", out,
                                      "--param", "scheduleCron=cron(30 6 * * ? *)"],
                           cwd=ROOT, env=sls_env(), capture_output=True, text=True, timeout=300)

        def prod_params():
            if r.returncode != 0:
                return tail(r.stdout + r.stderr)
            with open(os.path.join(out, "cloudformation-template-update-stack.json")) as f:
                t = json.load(f)["Resources"]
            rule = [v for v in t.values() if v["Type"] == "AWS::Events::Rule"][0]["Properties"]
            if rule["ScheduleExpression"] != "cron(30 6 * * ? *)":
                return f"cron {rule['ScheduleExpression']}"
            if t["CreateReportLogGroup"]["Properties"]["RetentionInDays"] != 90:
                return "prod log retention is not 90"
            if t["ReportPipelineStateMachine"]["Properties"]["StateMachineName"] != "report-pipeline-prod":
                return "state machine name"
            check_poll_budget("prod", {"Resources": t}, source_def)
        check("sls package --stage prod --param scheduleCron=... uses the stage's settings", prod_params)

        # control: an unmodified copy of the project packages (so failures below are the definition's)
        ctrl = make_project_copy(source_def)
        r = sls_package(ctrl, os.path.join(work, "ctrl"))
        report(r.returncode == 0, "control: an unmodified temp copy of the project packages",
               tail(r.stdout + r.stderr))
        shutil.rmtree(ctrl, ignore_errors=True)

        # (c) both linters pass on the real definition
        for tool in ("asl-validator", "statelint"):
            r = lint_tool(tool, DEFINITION)
            report(r.returncode == 0, f"{tool} passes on the real definition", tail(r.stdout + r.stderr))
        r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "sls", "check-definition.sh"), DEFINITION],
                           cwd=ROOT, capture_output=True, text=True, timeout=300)
        report(r.returncode == 0, "make check-definition script passes on the real definition",
               tail(r.stdout + r.stderr))

        # (b) + (c) broken copies
        for label, broken in broken_definitions():
            proj = make_project_copy(broken)
            r = sls_package(proj, os.path.join(work, "broken"))
            out_text = r.stdout + r.stderr
            report(r.returncode != 0 and "definition is invalid" in out_text,
                   f"sls package FAILS on a broken copy ({label})",
                   f"rc={r.returncode}: {tail(out_text, 6)}")
            bdef = os.path.join(proj, "statemachine", "report-pipeline.asl.json")
            for tool in ("asl-validator", "statelint"):
                lr = lint_tool(tool, bdef)
                report(lr.returncode != 0, f"{tool} FAILS on the broken copy ({label})",
                       tail(lr.stdout + lr.stderr, 4))
            shutil.rmtree(proj, ignore_errors=True)

        # the real definition was not touched
        check("the real definition file is unchanged", lambda: None if load_definition() == source_def
              else "statemachine/report-pipeline.asl.json changed during the run")
    finally:
        shutil.rmtree(work, ignore_errors=True)

    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(run())
