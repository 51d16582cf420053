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
