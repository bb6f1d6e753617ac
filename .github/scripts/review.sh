#!/usr/bin/env bash
# Reviews a pull request as .github/workflows/validate.yml does, and as you can run it locally:
#
#   MARKETPLACE=./marketplace .github/scripts/review.sh CATALOG BASE AUTHOR OUT
#
# CATALOG is a checkout of the pull request (read as data: nothing in it is executed), BASE the
# base branch's commit, AUTHOR the pull request's author, OUT a folder for summary.md.
#   1. verify --changed-since BASE: online verification of the changed products' images, which
#      leaves its findings in the verification cache;
#   2. validate --base BASE --author AUTHOR --format github: the checks, as annotations;
#   3. validate ... --format markdown: the comment body, into OUT/summary.md.
# The catalog is read from CATALOG's Git objects at HEAD (--ref HEAD), not from its files, so a
# symlink in the pull request cannot lead the checks to a file outside the catalog.
# MARKETPLACE is the binary built from the base branch; MATERIAL a signature material folder
# (validate.yml passes the base branch's); VERIFY_FLAGS adds flags to verify (tests pass
# --offline). Writes auto-approve=true|false to $GITHUB_OUTPUT when it is set.
# Exit status: 0 when every step passed, 1 otherwise (the summary is written either way).
set -uo pipefail

if [ $# -ne 4 ]; then
  echo "usage: review.sh CATALOG BASE AUTHOR OUT" >&2
  exit 2
fi
catalog=$1 base=$2 author=$3 out=$4
: "${MARKETPLACE:?set MARKETPLACE to the marketplace binary built from the base branch}"
mkdir -p "$out"
status=0
common=(--ref HEAD)
if [ -n "${MATERIAL:-}" ]; then
  common+=(--material "$MATERIAL")
fi

echo "== verify the changed products' images"
# shellcheck disable=SC2086 # VERIFY_FLAGS is a list of flags
"$MARKETPLACE" -C "$catalog" verify --changed-since "$base" "${common[@]}" --format github ${VERIFY_FLAGS:-}
verified=$?
[ $verified -eq 0 ] || status=1

echo "== validate what changed"
"$MARKETPLACE" -C "$catalog" validate --base "$base" --author "$author" "${common[@]}" --format github || status=1

echo "== write the summary"
"$MARKETPLACE" -C "$catalog" validate --base "$base" --author "$author" "${common[@]}" --format markdown >"$out/summary.md"
if [ $verified -ne 0 ]; then
  # Online verification failed: never eligible, whatever the cached signatures say.
  sed -i 's/<!-- marketplace:auto-approve=true -->/<!-- marketplace:auto-approve=false -->/' "$out/summary.md"
  printf '\n> [!WARNING]\n> Online verification of the changed images failed; see the annotations of the validate job.\n' >>"$out/summary.md"
fi

approve=false
if grep -qx '<!-- marketplace:auto-approve=true -->' "$out/summary.md"; then
  approve=true
fi
echo "auto-approve: $approve"
if [ -n "${GITHUB_OUTPUT:-}" ]; then
  echo "auto-approve=$approve" >>"$GITHUB_OUTPUT"
fi
exit $status
