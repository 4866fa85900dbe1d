#!/usr/bin/env python3
"""Render the state machine definition for linters that need URI Resources.

Every {"Fn::GetAtt": ["<FunctionKey>", "Arn"]} becomes a plain (placeholder)
Lambda ARN; everything else is kept as written. Python's json keeps 2.0 a
float, so statelint's "BackoffRate should be a Float" rule sees the literal
from the file (the deploy plugin re-serialises through JavaScript, where 2.0
becomes 2, which Step Functions accepts).

    python3 scripts/sls/render-definition.py IN.json OUT.json
"""
import json
import sys

FAKE = "arn:aws:lambda:us-east-1:123456789012:function:report-pipeline-lint-"


def walk(node, count):
    if isinstance(node, list):
        return [walk(n, count) for n in node]
    if isinstance(node, dict):
        if list(node) == ["Fn::GetAtt"]:
            logical_id, attr = node["Fn::GetAtt"]
            if attr != "Arn":
                raise SystemExit(f"unsupported Fn::GetAtt attribute {attr!r}")
            count[0] += 1
            return FAKE + logical_id
        if any(k.startswith("Fn::") or k == "Ref" for k in node):
            raise SystemExit(f"unsupported intrinsic {json.dumps(node)}")
        return {k: walk(v, count) for k, v in node.items()}
    return node


def main():
    if len(sys.argv) != 3:
        raise SystemExit("usage: render-definition.py IN.json OUT.json")
    src, dst = sys.argv[1:]
    try:
        with open(src, encoding="utf-8") as f:
            definition = json.load(f)
    except (OSError, ValueError) as e:
        raise SystemExit(f"{src}: cannot read JSON: {e}")
    count = [0]
    rendered = walk(definition, count)
    with open(dst, "w", encoding="utf-8") as f:
        json.dump(rendered, f, indent=2)
        f.write("\n")
    print(f"rendered {src} ({count[0]} Fn::GetAtt replaced by placeholder ARNs)")


if __name__ == "__main__":
    main()
