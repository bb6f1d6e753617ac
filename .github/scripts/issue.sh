#!/usr/bin/env bash
# Opens an issue with BODY, or comments on the open one with the same label: one issue per kind
# of failure, however many scheduled runs fail. Run by reverify.yml:
#
#   REPO=owner/name TITLE="..." LABEL=reverify .github/scripts/issue.sh issue.md
#
# Needs gh and a token (GH_TOKEN) with issues: write.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: issue.sh BODY" >&2
  exit 2
fi
body=$1
: "${REPO:?}" "${TITLE:?}"
label=${LABEL:-reverify}

gh label create "$label" --repo "$REPO" --description "Scheduled image re-verification failed" --force >/dev/null
number=$(gh issue list --repo "$REPO" --label "$label" --state open --json number --jq '.[0].number // empty')
if [ -n "$number" ]; then
  gh issue comment "$number" --repo "$REPO" --body-file "$body" >/dev/null
  echo "updated issue #$number"
else
  gh issue create --repo "$REPO" --title "$TITLE" --label "$label" --body-file "$body" >/dev/null
  echo "opened an issue"
fi
