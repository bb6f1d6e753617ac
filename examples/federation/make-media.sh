#!/usr/bin/env bash
# make-media.sh DIR — the world outside the hospital, for OPERATING.md and the air-gapped drill.
#
# It makes, in the new or empty folder DIR:
#   src/hspc        the public HSP catalog (this repository's index.toml, products/, signatures/)
#   src/riverside   the partner hospital's catalog (examples/federation/riverside)
#   catalog/        St Mary's own catalog (examples/federation/hospital), with [[upstreams]]
#   usb/            the removable media: hspc.bundle and riverside.bundle, and next week's
#                   riverside-tampered.bundle (one signature changed) and riverside-outside.bundle
#                   (a publisher outside Riverside's namespace), which the hospital must refuse.
#
# The catalogs are Git repositories made with the git program, as their owners would; commit dates
# are fixed, so the same repository gives the same commits on every machine. The bundles are
# written by `marketplace mirror export`, so `marketplace` must be on PATH.
set -euo pipefail

if [ $# -ne 1 ]; then
  echo "usage: $0 DIR" >&2
  exit 2
fi
repo=$(cd "$(dirname "$0")/../.." && pwd)
here="$repo/examples/federation"
mkdir -p "$1"
out=$(cd "$1" && pwd)
if [ -n "$(ls -A "$out")" ]; then
  echo "make-media.sh: $out is not empty" >&2
  exit 2
fi
command -v marketplace >/dev/null || { echo "make-media.sh: marketplace is not on PATH (go build -o bin/ ./cmd/marketplace)" >&2; exit 2; }
command -v git >/dev/null || { echo "make-media.sh: the git program is needed to play the catalogs' owners" >&2; exit 2; }

export GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME="Catalog Owner" GIT_AUTHOR_EMAIL=owner@example.org
export GIT_COMMITTER_NAME="Catalog Owner" GIT_COMMITTER_EMAIL=owner@example.org
export GIT_AUTHOR_DATE=2026-11-02T09:00:00Z GIT_COMMITTER_DATE=2026-11-02T09:00:00Z

# The interface registry every catalog here shares: the public catalog's.
interfaces() { awk '/^\[\[interfaces\]\]/ { p = 1 } p' "$repo/index.toml"; }

commit() { # DIR MESSAGE
  git -C "$1" add -A
  git -C "$1" commit -q -m "$2"
}

newrepo() { # DIR MESSAGE
  git -C "$1" init -q -b main
  commit "$1" "$2"
}

echo "public catalog      $out/src/hspc"
mkdir -p "$out/src/hspc"
cp "$repo/index.toml" "$out/src/hspc/"
cp -R "$repo/products" "$repo/signatures" "$out/src/hspc/"
newrepo "$out/src/hspc" "HSP Marketplace: the public catalog"

echo "partner catalog     $out/src/riverside"
mkdir -p "$out/src/riverside"
cp -R "$here/riverside/products" "$here/riverside/signatures" "$out/src/riverside/"
{ cat "$here/riverside/index.head.toml"; echo; interfaces; } >"$out/src/riverside/index.toml"
newrepo "$out/src/riverside" "Riverside Health Partners: lab results viewer"

echo "hospital catalog    $out/catalog"
mkdir -p "$out/catalog"
cp -R "$here/hospital/products" "$here/hospital/signatures" "$out/catalog/"
{ cat "$here/hospital/index.head.toml"; echo; interfaces; cat "$here/hospital/upstreams.toml"; } >"$out/catalog/index.toml"
newrepo "$out/catalog" "St Mary's marketplace: in-house products and upstreams"

echo "removable media     $out/usb"
mkdir -p "$out/usb"
marketplace mirror export "$out/src/hspc" "$out/usb/hspc.bundle"
marketplace mirror export "$out/src/riverside" "$out/usb/riverside.bundle"

# Next week's media, as a careless or hostile partner might send it.
export GIT_AUTHOR_DATE=2026-11-09T09:00:00Z GIT_COMMITTER_DATE=2026-11-09T09:00:00Z
work="$out/src/riverside-next"
git clone -q "$out/src/riverside" "$work"

# 1. A signature changed on the way: the first bytes of the base64 signature are replaced.
sig=$(ls "$work"/signatures/sha256-*.json | head -n 1)
sed -E -i.orig '0,/"signature": "/s/("signature": ")..../\1AAAA/' "$sig"
rm "$sig.orig"
commit "$work" "Re-sign the lab results viewer"
marketplace mirror export "$work" "$out/usb/riverside-tampered.bundle"

# 2. A publisher outside Riverside's namespace (riverside-*), on top of the good history: the lab
#    results viewer moves, with its signing key, to a publisher named QuickCare. (A copy beside the
#    lab's would share the lab's key, which no catalog accepts: the mirror would refuse it.)
git -C "$work" reset -q --hard HEAD~1
git -C "$work" mv products/riverside-lab products/quickcare
sed 's/^name = .*/name = "QuickCare Clinics"/' "$work/products/quickcare/publisher.toml" >"$work/publisher.toml"
mv "$work/publisher.toml" "$work/products/quickcare/publisher.toml"
commit "$work" "Publish the lab results viewer as QuickCare"
marketplace mirror export "$work" "$out/usb/riverside-outside.bundle"
rm -rf "$work"

echo "done: see OPERATING.md for what the hospital does with $out/usb"
