#!/usr/bin/env bash
# Refresh the vendored front-end assets from the npm registry (never a CDN at run time).
# Usage: bash scripts/vendor_assets.sh   — writes src/gridcare/static/vendor/ and VERSIONS.txt
set -euo pipefail
HTMX=2.0.11
BOOTSTRAP=5.3.9
ECHARTS=5.6.0
root="$(cd "$(dirname "$0")/.." && pwd)"
dest="$root/src/gridcare/static/vendor"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cd "$tmp"
for pkg in "htmx.org@$HTMX" "bootstrap@$BOOTSTRAP" "echarts@$ECHARTS"; do
  npm pack --silent "$pkg" >/dev/null
done
mkdir -p "$dest"
for f in *.tgz; do mkdir -p "${f%.tgz}" && tar -xzf "$f" -C "${f%.tgz}"; done
cp htmx.org-$HTMX/package/dist/htmx.min.js "$dest/htmx.min.js"
cp bootstrap-$BOOTSTRAP/package/dist/css/bootstrap.min.css "$dest/bootstrap.min.css"
cp bootstrap-$BOOTSTRAP/package/dist/js/bootstrap.bundle.min.js "$dest/bootstrap.bundle.min.js"
cp echarts-$ECHARTS/package/dist/echarts.min.js "$dest/echarts.min.js"
printf 'htmx.org %s\nbootstrap %s\necharts %s\n' "$HTMX" "$BOOTSTRAP" "$ECHARTS" > "$dest/VERSIONS.txt"
echo "vendored into $dest"
