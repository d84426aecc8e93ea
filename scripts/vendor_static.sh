#!/bin/sh
# The browser libraries Govern serves itself (never from a CDN: police networks are often closed), taken from the
# npm registry at a pinned version and checked against a pinned SHA-256 before they are copied in.
set -eu
cd "$(dirname "$0")/.."
dest=govern/static/vendor
HTMX_VERSION=2.0.11
HTMX_SHA256=d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717

command -v npm >/dev/null 2>&1 || { echo "npm is needed to fetch htmx $HTMX_VERSION from the npm registry" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack "htmx.org@$HTMX_VERSION" --silent >/dev/null && tar xzf "htmx.org-$HTMX_VERSION.tgz")
echo "$HTMX_SHA256  $work/package/dist/htmx.min.js" | sha256sum -c --quiet - || {
  echo "htmx $HTMX_VERSION from the registry does not match the pinned SHA-256" >&2; exit 1; }
mkdir -p "$dest"
cp "$work/package/dist/htmx.min.js" "$dest/htmx.min.js"
cp "$work/package/LICENSE" "$dest/htmx.LICENSE" 2>/dev/null || true
echo "htmx $HTMX_VERSION -> $dest/htmx.min.js"
