#!/usr/bin/env bash
# Re-verifies every image of the catalog online, as .github/workflows/reverify.yml does:
#
#   MARKETPLACE=./marketplace .github/scripts/reverify.sh CATALOG OUT
#
# Uses no cache, so every manifest and signature is fetched again: a deleted image, a moved tag
# or a revoked signature shows. On failure writes OUT/issue.md, the body of the issue the
# workflow opens or updates, and failed=true to $GITHUB_OUTPUT. VERIFY_FLAGS adds flags (tests
# pass --offline). Exit status: 0 when every image verified, 1 otherwise.
set -uo pipefail

if [ $# -ne 2 ]; then
  echo "usage: reverify.sh CATALOG OUT" >&2
  exit 2
fi
catalog=$1 out=$2
: "${MARKETPLACE:?set MARKETPLACE to the marketplace binary}"
mkdir -p "$out"

# shellcheck disable=SC2086 # VERIFY_FLAGS is a list of flags
"$MARKETPLACE" -C "$catalog" verify --cache "" ${VERIFY_FLAGS:-} >"$out/report.txt" 2>&1
status=$?
cat "$out/report.txt"
failed=false
if [ $status -ne 0 ]; then
  failed=true
  {
    echo "The scheduled re-verification of every image failed (exit status $status)."
    echo
    echo '```text'
    cat "$out/report.txt"
    echo '```'
  } >"$out/issue.md"
fi
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "failed=$failed" >>"$GITHUB_OUTPUT"
fi
exit $status
