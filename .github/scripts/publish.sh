#!/usr/bin/env bash
# Builds the site for GitHub Pages, as .github/workflows/publish.yml does:
#
#   MARKETPLACE=./marketplace .github/scripts/publish.sh CATALOG OUT
#
# build validates, verifies every image online (BUILD_FLAGS adds flags; tests pass --offline)
# and writes OUT atomically; a catalog with problems writes nothing and fails.
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: publish.sh CATALOG OUT" >&2
  exit 2
fi
: "${MARKETPLACE:?set MARKETPLACE to the marketplace binary}"
# shellcheck disable=SC2086 # BUILD_FLAGS is a list of flags
"$MARKETPLACE" -C "$1" build -o "$2" ${BUILD_FLAGS:-}
test -f "$2/index.html"
