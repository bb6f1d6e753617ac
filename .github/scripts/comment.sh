#!/usr/bin/env bash
# Posts the review summary on a pull request, or updates the one posted before, and sets the
# auto-approvable label to match its verdict. Run by validate.yml's comment job:
#
#   REPO=owner/name PR=12 AUTO_APPROVE=true .github/scripts/comment.sh summary.md
#
# Needs gh and a token (GH_TOKEN) with pull-requests: write. The summary is only text: nothing of
# the pull request is executed here.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: comment.sh SUMMARY" >&2
  exit 2
fi
summary=$1
: "${REPO:?}" "${PR:?}"
label=${LABEL:-auto-approvable}
marker='<!-- marketplace:summary -->'
bot=${BOT_LOGIN:-github-actions[bot]}

id=$(gh api --paginate "repos/$REPO/issues/$PR/comments" \
  --jq ".[] | select(.user.login == \"$bot\" and (.body | startswith(\"$marker\"))) | .id" | head -n 1)
if [ -n "$id" ]; then
  gh api --method PATCH "repos/$REPO/issues/comments/$id" -F "body=@$summary" >/dev/null
  echo "updated comment $id"
else
  gh api --method POST "repos/$REPO/issues/$PR/comments" -F "body=@$summary" >/dev/null
  echo "posted a comment"
fi

if [ "${AUTO_APPROVE:-false}" = true ]; then
  gh api --method POST "repos/$REPO/issues/$PR/labels" -f "labels[]=$label" >/dev/null
  echo "labelled $label"
else
  # The label may not be there: removing it is then a 404, which is fine.
  gh api --method DELETE "repos/$REPO/issues/$PR/labels/$label" >/dev/null 2>&1 || true
fi
