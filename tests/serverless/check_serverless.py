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
                   "SITE_KEEP_REPORTS", "SITE_SCHEDULE_PERIOD_SECONDS"},
}
EXPECTED_MEMORY = {"CreateReport": 128, "PollReport": 128, "DownloadReport": 256, "UpdateSite": 1769}
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


# ---------------------------------------------------------------- least privilege, exactly

def sub(text):
    return {"Fn::Sub": text}


def _list(v):
    return v if isinstance(v, list) else [v]


def grants(role_props):
    """A role's permissions as a set of (action, resource, condition) triples (JSON text),
    one per action x resource, so any added action, resource or dropped condition shows."""
    if role_props.get("ManagedPolicyArns"):
        raise AssertionError(f"managed policies {role_props['ManagedPolicyArns']}")
    policies = role_props.get("Policies", [])
    if len(policies) != 1:
        raise AssertionError(f"{len(policies)} inline policies")
    out = set()
    for st in policies[0]["PolicyDocument"]["Statement"]:
        odd = set(st) - {"Effect", "Action", "Resource", "Condition", "Sid"}
        if st.get("Effect") != "Allow" or odd:
            raise AssertionError(f"unexpected statement shape {st}")
        cond = json.dumps(st.get("Condition"), sort_keys=True) if "Condition" in st else None
        for a in _list(st["Action"]):
            for r in _list(st["Resource"]):
                out.add((a, json.dumps(r, sort_keys=True), cond))
    return out


def triples(actions, resources, condition=None):
    cond = json.dumps(condition, sort_keys=True) if condition is not None else None
    return {(a, json.dumps(r, sort_keys=True), cond) for a in actions for r in resources}


def expected_function_grants(stage="dev", reports_prefix="reports/", site_prefix=""):
    """What serverless.yml grants each function, written out in full (docs/deploy.md, IAM table)."""
    param = f"arn:${{AWS::Partition}}:ssm:${{AWS::Region}}:${{AWS::AccountId}}:parameter/report-pipeline/{stage}/report-api-token"
    token = triples(["ssm:GetParameter"], [sub(param)]) | triples(
        ["kms:Decrypt"], [sub("arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*")],
        {"StringEquals": {"kms:ViaService": sub("ssm.${AWS::Region}.amazonaws.com"),
                          "kms:EncryptionContext:PARAMETER_ARN": sub(param)}})
    reports = sub(f"arn:${{AWS::Partition}}:s3:::${{ReportsBucket}}/{reports_prefix}*")
    site = lambda key: sub(f"arn:${{AWS::Partition}}:s3:::${{SiteBucket}}/{site_prefix}{key}")
    published = [site(k) for k in ("index.html", "archive.html", "archive.json", "feed.xml", "assets/*", "reports/*")]

    def logs(f):
        return triples(["logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents"],
                       [sub("arn:${AWS::Partition}:logs:${AWS::Region}:${AWS::AccountId}:log-group:"
                            f"/aws/lambda/report-pipeline-{stage}-{f}:*:*")])
    return {
        "CreateReport": logs("CreateReport") | token,
        "PollReport": logs("PollReport") | token,
        "DownloadReport": logs("DownloadReport") | token
        | triples(["s3:PutObject", "s3:AbortMultipartUpload"], [reports]),
        "UpdateSite": logs("UpdateSite")
        | triples(["s3:GetObject"], [reports])
        | triples(["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"], published)
        | triples(["s3:DeleteObject"], [site("reports/*")])
        | triples(["s3:ListBucket"], [sub("arn:${AWS::Partition}:s3:::${SiteBucket}")],
                  {"StringLike": {"s3:prefix": [f"{site_prefix}reports/*"]}}),
    }


# Step Functions needs these on "*" to deliver its logs (the plugin adds them for loggingConfig).
SFN_LOG_DELIVERY = ["logs:CreateLogDelivery", "logs:GetLogDelivery", "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery", "logs:ListLogDeliveries", "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies", "logs:DescribeLogGroups"]


def expected_state_machine_grants():
    invoke = []
    for f in FUNCTIONS:
        arn = {"Fn::GetAtt": [f"{f}LambdaFunction", "Arn"]}
        invoke += [arn, {"Fn::Sub": ["${functionArn}:*", {"functionArn": arn}]}]
    return triples(["lambda:InvokeFunction"], invoke) | triples(SFN_LOG_DELIVERY, ["*"])


def diff_grants(got, want):
    extra, missing = sorted(got - want, key=str), sorted(want - got, key=str)
    if extra or missing:
        fmt = lambda t: f"{t[0]} on {t[1]}" + (f" if {t[2]}" if t[2] else "")
        return ("; ".join(["EXTRA " + fmt(t) for t in extra] + ["MISSING " + fmt(t) for t in missing]))


def iam_exact_checks(R, fns):
    want = expected_function_grants()
    roles = sorted(l for l, r in R.items() if r["Type"] == "AWS::IAM::Role")
    expected_roles = sorted([f"{f}IamRoleLambdaExecution" for f in FUNCTIONS]
                            + ["IamRoleLambdaExecution", "ReportPipelineStateMachineRole",
                               "ReportPipelineScheduleToStepFunctionsRole"])

    def role_set():
        if roles != expected_roles:
            return f"roles {roles} != {expected_roles}"
        if any(r["Type"] in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy") for r in R.values()):
            return "a standalone IAM policy widens some role"
    check("template: the IAM roles are the four function roles, the state machine's, the schedule's "
          "and the framework's unused logs-only default", role_set)

    for f in FUNCTIONS:
        def exact(f=f):
            role = fns[f"{f}LambdaFunction"]["Properties"]["Role"]
            if role != {"Fn::GetAtt": [f"{f}IamRoleLambdaExecution", "Arn"]}:
                return f"{f} uses role {role}"
            props = R[f"{f}IamRoleLambdaExecution"]["Properties"]
            trust = props["AssumeRolePolicyDocument"]["Statement"]
            if trust != [{"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]},
                          "Action": ["sts:AssumeRole"]}]:
                return f"trust policy {trust}"
            return diff_grants(grants(props), want[f])
        n = len(want[f])
        check(f"template: {f}'s role grants exactly its {n} (action, resource) pairs", exact)

    def default_role_logs_only():
        got = grants(R["IamRoleLambdaExecution"]["Properties"])
        if {a for a, _, _ in got} - {"logs:CreateLogStream", "logs:CreateLogGroup", "logs:TagResource",
                                     "logs:PutLogEvents"}:
            return f"the unused default role grants {sorted(got)}"
        if any(fn["Properties"]["Role"] == {"Fn::GetAtt": ["IamRoleLambdaExecution", "Arn"]} for fn in fns.values()):
            return "a function uses the default role"
    check("template: the framework's default role is logs-only and used by no function", default_role_logs_only)

    def state_machine_role():
        props = R["ReportPipelineStateMachineRole"]["Properties"]
        return diff_grants(grants(props), expected_state_machine_grants())
    check("template: state machine role invokes only the four functions (+ Step Functions' log delivery)",
          state_machine_role)

    def schedule_role():
        props = R["ReportPipelineScheduleToStepFunctionsRole"]["Properties"]
        want_ = triples(["states:StartExecution"], [{"Ref": "ReportPipelineStateMachine"}])
        return diff_grants(grants(props), want_)
    check("template: schedule role may only start this state machine", schedule_role)


# ---------------------------------------------------------------- alerts, versioning, scanners

def cron_period_seconds(expr):
    """Period of simple crons: fixed minute + every hour = 3600; fixed minute and hour = 86400."""
    m = re.fullmatch(r"cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)", expr or "")
    if not m:
        return None
    minute, hour, dom, month, dow, _ = m.groups()
    if not minute.isdigit() or month != "*" or {dom, dow} - {"*", "?"}:
        return None
    if hour == "*":
        return 3600
    if hour.isdigit():
        return 86400
    return None


def alert_checks(R, by_type, label, period, stale_periods, email=""):
    sm = {"Ref": "ReportPipelineStateMachine"}
    topic = {"Ref": "AlertTopic"}

    def topic_and_policy():
        if by_type.get("AWS::SNS::Topic") != ["AlertTopic"]:
            return f"topics {by_type.get('AWS::SNS::Topic')}"
        pol = [R[l]["Properties"] for l in by_type.get("AWS::SNS::TopicPolicy", [])]
        if len(pol) != 1 or pol[0]["Topics"] != [topic]:
            return f"topic policies {pol}"
        st = pol[0]["PolicyDocument"]["Statement"]
        got = {(s["Effect"], json.dumps(s["Principal"]), s["Action"], json.dumps(s["Resource"]),
                json.dumps(s.get("Condition"), sort_keys=True)) for s in st}
        want = {
            ("Allow", json.dumps({"Service": "events.amazonaws.com"}), "sns:Publish", json.dumps(topic),
             json.dumps({"ArnEquals": {"aws:SourceArn": {"Fn::GetAtt": ["AlertOnExecutionEnded", "Arn"]}}})),
            ("Allow", json.dumps({"Service": "cloudwatch.amazonaws.com"}), "sns:Publish", json.dumps(topic),
             json.dumps({"ArnLike": {"aws:SourceArn": sub(
                 "arn:${AWS::Partition}:cloudwatch:${AWS::Region}:${AWS::AccountId}:alarm:"
                 f"report-pipeline-{label}-*")}})),
        }
        if got != want or len(st) != 2:
            return f"topic policy statements {st}"
    check(f"{label}: alert topic; only this rule (events) and this stage's alarms (cloudwatch) may publish",
          topic_and_policy)

    def subscription():
        sub_ = R.get("AlertEmailSubscription")
        if not sub_ or sub_.get("Condition") != "HasAlertEmail":
            return f"subscription {sub_}"
        p = sub_["Properties"]
        if p != {"TopicArn": topic, "Protocol": "email", "Endpoint": {"Ref": "AlertEmail"}}:
            return f"subscription {p}"
        return None
    check(f"{label}: email subscription only when AlertEmail is set", subscription)

    def rule():
        rules = [l for l in by_type.get("AWS::Events::Rule", []) if "EventPattern" in R[l]["Properties"]]
        if rules != ["AlertOnExecutionEnded"]:
            return f"event-pattern rules {rules}"
        p = R["AlertOnExecutionEnded"]["Properties"]
        pat = p["EventPattern"]
        want = {"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"],
                "detail": {"status": ["FAILED", "TIMED_OUT", "ABORTED"], "stateMachineArn": [sm]}}
        if pat != want:
            return f"pattern {pat}"
        if p.get("State") != "ENABLED" or len(p["Targets"]) != 1 or p["Targets"][0]["Arn"] != topic:
            return f"targets {p['Targets']}"
        it = p["Targets"][0]["InputTransformer"]
        paths = it["InputPathsMap"]
        for k, v in {"name": "$.detail.name", "status": "$.detail.status", "error": "$.detail.error",
                     "cause": "$.detail.cause", "executionArn": "$.detail.executionArn"}.items():
            if paths.get(k) != v:
                return f"InputPathsMap {paths}"
        tmpl = it["InputTemplate"]["Fn::Sub"]
        for k in paths:
            if f"<{k}>" not in tmpl:
                return f"<{k}> not in the message"
        if "console.aws.amazon.com/states/home?region=${AWS::Region}#/v2/executions/details/<executionArn>" not in tmpl:
            return "no console link in the message"
    check(f"{label}: rule on this state machine's FAILED/TIMED_OUT/ABORTED executions -> topic "
          "(name, status, error, cause, console link)", rule)

    def failed_alarm():
        p = R["ExecutionsFailedAlarm"]["Properties"]
        metrics = {m["Id"]: m for m in p["Metrics"]}
        names = {}
        for m in p["Metrics"]:
            if "MetricStat" in m:
                ms = m["MetricStat"]
                if ms["Metric"]["Namespace"] != "AWS/States" or ms["Stat"] != "Sum" \
                        or ms["Metric"]["Dimensions"] != [{"Name": "StateMachineArn", "Value": sm}]:
                    return f"metric {m}"
                names[ms["Metric"]["MetricName"]] = m["Id"]
        if set(names) != {"ExecutionsFailed", "ExecutionsTimedOut", "ExecutionsAborted"}:
            return f"metrics {sorted(names)}"
        expr = [m for m in p["Metrics"] if m.get("ReturnData")]
        if len(expr) != 1 or any(f"FILL({i}, 0)" not in expr[0].get("Expression", "") for i in names.values()):
            return f"expression {expr}"
        if (p["ComparisonOperator"], p["Threshold"], p["EvaluationPeriods"], p["TreatMissingData"]) != \
                ("GreaterThanOrEqualToThreshold", 1, 1, "notBreaching") or p["AlarmActions"] != [topic]:
            return f"alarm {p}"
    check(f"{label}: alarm on ExecutionsFailed + TimedOut + Aborted -> topic", failed_alarm)

    def stale_alarm():
        p = R["StaleAlarm"]["Properties"]
        got = {k: p.get(k) for k in ("Namespace", "MetricName", "Statistic", "Period", "EvaluationPeriods",
                                     "DatapointsToAlarm", "ComparisonOperator", "Threshold", "TreatMissingData",
                                     "AlarmActions", "OKActions", "Dimensions")}
        # A --param on the command line arrives as a string; CloudFormation reads "3600" as 3600.
        for k in ("Period", "EvaluationPeriods", "DatapointsToAlarm"):
            if isinstance(got[k], str) and got[k].isdigit():
                got[k] = int(got[k])
        want = {"Namespace": "AWS/States", "MetricName": "ExecutionsSucceeded", "Statistic": "Sum",
                "Period": period, "EvaluationPeriods": stale_periods, "DatapointsToAlarm": stale_periods,
                "ComparisonOperator": "LessThanThreshold", "Threshold": 1, "TreatMissingData": "breaching",
                "AlarmActions": [topic], "OKActions": [topic],
                "Dimensions": [{"Name": "StateMachineArn", "Value": sm}]}
        if got != want:
            return f"stale alarm {got} != {want}"
        # CloudWatch: Period x EvaluationPeriods <= 7 days (1 day for periods under an hour).
        limit = 86400 if period < 3600 else 604800
        if period * stale_periods > limit:
            return f"{period} s x {stale_periods} periods > {limit} s: CloudWatch would refuse the alarm"
        rules = [R[l]["Properties"] for l in by_type.get("AWS::Events::Rule", [])
                 if "ScheduleExpression" in R[l]["Properties"]]
        cron = rules[0]["ScheduleExpression"] if rules else None
        derived = cron_period_seconds(cron)
        if derived is not None and derived != period:
            return (f"schedulePeriodSeconds {period} does not match scheduleCron {cron} ({derived} s): "
                    "the stale alarm would count the wrong periods")
    check(f"{label}: stale alarm: ExecutionsSucceeded < 1 in {stale_periods} periods of {period} s "
          "(missing = breaching) -> topic", stale_alarm)

    def next_report_on_pages():
        env = R["UpdateSiteLambdaFunction"]["Properties"]["Environment"]["Variables"]
        got = str(env.get("SITE_SCHEDULE_PERIOD_SECONDS"))
        if got != str(period):
            return f"UpdateSite's SITE_SCHEDULE_PERIOD_SECONDS is {got}, the schedule's period {period}"
    check(f"{label}: the pages say the next report is expected one period ({period} s) after theirs",
          next_report_on_pages)


def ops_bucket_checks(R):
    def site_versioning():
        p = R["SiteBucket"]["Properties"]
        if p.get("VersioningConfiguration") != {"Status": "Enabled"}:
            return f"site bucket versioning {p.get('VersioningConfiguration')}"
        rules = p["LifecycleConfiguration"]["Rules"]
        if not any(r.get("Status") == "Enabled" and r.get("NoncurrentVersionExpiration", {}).get("NoncurrentDays") == 30
                   and "Prefix" not in r and "Filter" not in r for r in rules):
            return f"no bucket-wide NoncurrentVersionExpiration after 30 days: {rules}"
    check("template: site bucket versioned; noncurrent versions expire after 30 days", site_versioning)

    def deployment_bucket():
        p = R["ServerlessDeploymentBucket"]["Properties"]
        bpa = p.get("PublicAccessBlockConfiguration", {})
        if not all(bpa.get(k) is True for k in ("BlockPublicAcls", "BlockPublicPolicy",
                                                "IgnorePublicAcls", "RestrictPublicBuckets")):
            return f"deployment bucket public access block {bpa}"
    check("template: the framework's deployment bucket blocks public access", deployment_bucket)


def scanner_checks(template_path, work):
    scan = os.path.join(ROOT, "scripts", "sls", "scan-template.py")
    r = subprocess.run(["bash", os.path.join(ROOT, "scripts", "sls", "ensure-scanners.sh")],
                       cwd=ROOT, capture_output=True, text=True)
    if r.returncode != 0:
        report(False, "scanners installed (scripts/sls/ensure-scanners.sh)", tail(r.stdout + r.stderr))
        return
    outputs = {}
    for tool in ("cfn-lint", "checkov"):
        r = subprocess.run([sys.executable, scan, template_path, "--tool", tool],
                           cwd=ROOT, capture_output=True, text=True, timeout=900)
        outputs[tool] = r.stdout
        head = r.stdout.strip().splitlines()[0] if r.stdout.strip() else tool
        findings = [l.strip() for l in r.stdout.splitlines() if l.startswith("  ") and not l.startswith("  skipped ")]
        report(r.returncode == 0, f"{tool} on the packaged template: no finding ({head.lstrip('= ')})",
               "\n      ".join(findings) or tail(r.stdout + r.stderr))

    def skips_documented():
        with open(os.path.join(ROOT, "docs", "deploy.md")) as f:
            doc = f.read()
        ids = sorted(set(re.findall(r"^  skipped (CKV_\w+) on ", outputs["checkov"], re.M)))
        if not ids:
            return "no checkov skip seen (did checkov run?)"
        missing = [i for i in ids if not re.search(rf"^\| [^|\n]*\b{i}\b[^|\n]*\|[^\n]*\| skipped \|", doc, re.M)]
        if missing:
            return f"checkov skips not in docs/deploy.md's decision table: {missing}"
    check("every checkov skip is in docs/deploy.md's table of decisions", skips_documented)

    # Controls: the scanners do fail on a widened template (so a pass above means something).
    with open(template_path) as f:
        t = json.load(f)
    bad = copy.deepcopy(t)
    del bad["Resources"]["SiteBucket"]["Properties"]["VersioningConfiguration"]
    bad["Resources"]["SiteDistribution"]["Metadata"]["checkov"]["skip"][0]["comment"] = ""
    del bad["Resources"]["ReportPipelineStateMachine"]["Metadata"]
    path = os.path.join(work, "widened-template.json")
    with open(path, "w") as f:
        json.dump(bad, f, indent=2)
    for tool, expect in (("checkov", ["CKV_AWS_21 on AWS::S3::Bucket.SiteBucket", "has no reason"]),
                         ("cfn-lint", ["W3005"])):
        r = subprocess.run([sys.executable, scan, path, "--tool", tool],
                           cwd=ROOT, capture_output=True, text=True, timeout=900)
        ok = r.returncode != 0 and all(e in r.stdout for e in expect)
        report(ok, f"control: {tool} FAILS on a copy with a new finding, and names it ({', '.join(expect)})",
               f"rc={r.returncode}: {tail(r.stdout, 6)}")


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
        rules = [R[l] for l in by_type.get("AWS::Events::Rule", []) if "ScheduleExpression" in R[l]["Properties"]]
        if len(rules) != 1:
            return f"{len(rules)} schedule rules"
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

    iam_exact_checks(R, fns)

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

    alert_checks(R, by_type, "dev", 3600, 2)
    ops_bucket_checks(R)

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
            scanner_checks(os.path.join(out, "cloudformation-template-update-stack.json"), work)

        # per-stage params: a prod package with an overridden cron
        out = os.path.join(work, "prod")
        sls = os.path.join(ROOT, "node_modules", ".bin", "sls")
        r = subprocess.run(OFFLINE + [sls, "package", "--stage", "prod", "--package", out,
                                      "--param", "scheduleCron=cron(30 6 * * ? *)",
                                      "--param", "schedulePeriodSeconds=86400",
                                      "--param", "staleAfterPeriods=3",
                                      "--param", "alertEmail=ops@example.com"],
                           cwd=ROOT, env=sls_env(), capture_output=True, text=True, timeout=300)

        def prod_params():
            if r.returncode != 0:
                return tail(r.stdout + r.stderr)
            with open(os.path.join(out, "cloudformation-template-update-stack.json")) as f:
                t = json.load(f)["Resources"]
            rule = [v for v in t.values() if v["Type"] == "AWS::Events::Rule"
                    and "ScheduleExpression" in v["Properties"]][0]["Properties"]
            if rule["ScheduleExpression"] != "cron(30 6 * * ? *)":
                return f"cron {rule['ScheduleExpression']}"
            if t["CreateReportLogGroup"]["Properties"]["RetentionInDays"] != 90:
                return "prod log retention is not 90"
            if t["ReportPipelineStateMachine"]["Properties"]["StateMachineName"] != "report-pipeline-prod":
                return "state machine name"
            check_poll_budget("prod", {"Resources": t}, source_def)
            by_type = {}
            for lid, res in t.items():
                by_type.setdefault(res["Type"], []).append(lid)
            alert_checks(t, by_type, "prod", 86400, 3)
            with open(os.path.join(out, "cloudformation-template-update-stack.json")) as f:
                params = json.load(f).get("Parameters", {})
            if params.get("AlertEmail", {}).get("Default") != "ops@example.com":
                return f"AlertEmail parameter {params.get('AlertEmail')}"
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
