#!/usr/bin/env bash
# make rollback STAGE=… [REPORT=…]: points a site back at the report before
# the one it shows (or REPORT), with target/debug/site-rollback.
#
#   STAGE=local   the site `make run` published (.local/run, embedded S3)
#   STAGE=<name>  the deployed stack report-pipeline-<name>: its SiteBucketName,
#                 SitePrefix and SiteDistributionId outputs (AWS CLI and
#                 credentials needed), then a CloudFront invalidation of the
#                 three pages a rollback rewrites.
set -euo pipefail
bin=target/debug/site-rollback
stage=${STAGE:?STAGE=local or a deployed stage}
report=()
[ -n "${REPORT:-}" ] && report=(--report "$REPORT")

if [ "$stage" = local ]; then
  exec "$bin" --work-dir "${WORK_DIR:-.local/run}" "${report[@]}"
fi

command -v aws >/dev/null || { echo "make rollback: the AWS CLI is needed for STAGE=$stage (pip install awscli)" >&2; exit 2; }
stack="report-pipeline-$stage"
region=()
[ -n "${REGION:-}" ] && region=(--region "$REGION")
output() {
  aws cloudformation describe-stacks "${region[@]}" --stack-name "$stack" \
    --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
bucket=$(output SiteBucketName)
prefix=$(output SitePrefix)
[ "$prefix" = None ] && prefix=""
distribution=$(output SiteDistributionId)
[ -n "$bucket" ] && [ "$bucket" != None ] || { echo "make rollback: stack $stack has no SiteBucketName output" >&2; exit 1; }

"$bin" --bucket "$bucket" --prefix "$prefix" "${report[@]}"
if [ -n "$distribution" ] && [ "$distribution" != None ]; then
  aws cloudfront create-invalidation "${region[@]}" --distribution-id "$distribution" \
    --paths "/${prefix}index.html" "/${prefix}archive.html" "/${prefix}feed.xml" \
    --query 'Invalidation.Id' --output text | sed 's/^/CloudFront invalidation: /'
fi
