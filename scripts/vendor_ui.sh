#!/usr/bin/env bash
# Vendor the dashboard's charting library, uPlot, from npm into the package (serve/ui/static/vendor).
# The result is committed: the gateway serves it from the package and never fetches anything.
#   scripts/vendor_ui.sh            # the pinned version
#   UPLOT_VERSION=1.6.33 scripts/vendor_ui.sh
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=${UPLOT_VERSION:-1.6.32}
DEST=src/modelyard/serve/ui/static/vendor
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
tarball=$(cd "$tmp" && npm pack --silent "uplot@$VERSION")
integrity=$(npm view "uplot@$VERSION" dist.integrity)
tar -xzf "$tmp/$tarball" -C "$tmp"
mkdir -p "$DEST"
cp "$tmp/package/dist/uPlot.iife.min.js" "$tmp/package/dist/uPlot.min.css" "$DEST/"
cp "$tmp/package/LICENSE" "$DEST/uPlot.LICENSE.txt"
cat >"$DEST/uPlot.VERSION.txt" <<INFO
uPlot $VERSION, from npm: https://registry.npmjs.org/uplot/-/$tarball
npm integrity: $integrity
License: MIT (uPlot.LICENSE.txt). Files: dist/uPlot.iife.min.js, dist/uPlot.min.css.
Vendored by scripts/vendor_ui.sh.
INFO
echo "vendored uPlot $VERSION into $DEST" >&2
