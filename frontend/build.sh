#!/usr/bin/env bash
# Build the Agreement tracker front-end assets into ../static/.
# Usage: cd frontend && ./build.sh
set -euo pipefail

cd "$(dirname "$0")"
STATIC=../static
GOVUK=node_modules/govuk-frontend/dist/govuk

# Exact versions from package-lock.json; no lifecycle scripts needed.
npm ci --no-audit --no-fund --ignore-scripts

mkdir -p "$STATIC/css" "$STATIC/js" "$STATIC/govuk/assets"

# CSS: GOV.UK Frontend + app styles, system font, no source map.
npx --no-install sass --no-source-map --style=compressed \
  --load-path=node_modules app.scss "$STATIC/css/app.css"

# JS: GOV.UK Frontend (ES module) and htmx 2.0.x, copied unmodified.
cp "$GOVUK/govuk-frontend.min.js" "$STATIC/js/govuk-frontend.min.js"
cp "$GOVUK/govuk-frontend.min.js.map" "$STATIC/js/govuk-frontend.min.js.map"
cp node_modules/htmx.org/dist/htmx.min.js "$STATIC/js/htmx.min.js"

# GOV.UK assets: deliberately NOT copied.
# - fonts/ is GDS Transport, reserved for GOV.UK (we use a system font stack).
# - every file in images/ (favicon.ico/.svg, govuk-icon-*.png, govuk-icon-mask.svg,
#   govuk-crest.svg, govuk-opengraph-image.png) is the crown or the royal crest,
#   and manifest.json only lists those icons.
# static/govuk/assets/ is kept (empty) as the root of $govuk-assets-path so any
# asset the app adds later resolves locally. Remove stale copies from older builds.
rm -rf "$STATIC/govuk/assets/fonts" "$STATIC/govuk/assets/images" "$STATIC/govuk/assets/manifest.json"
touch "$STATIC/govuk/assets/.gitkeep"

# Sanity checks
if grep -q "GDS Transport" "$STATIC/css/app.css"; then
  echo "ERROR: GDS Transport found in app.css" >&2
  exit 1
fi
# perf (issue 24): no image the build does not ship (the footer's crest was one).
if grep -q 'url("/static/govuk/assets/images/' "$STATIC/css/app.css"; then
  echo "ERROR: app.css points at a GOV.UK image that is not shipped" >&2
  exit 1
fi
# app.scss imports only the components the app uses: every govuk- class that
# the templates or the Python code write, and that GOV.UK Frontend styles,
# must have its rules in app.css.
FULL="$GOVUK/govuk-frontend.min.css"
missing=""
for cls in $(grep -rhoE 'govuk-[a-z0-9!_-]*[a-z0-9]' ../templates ../tracker --include=*.html --include=*.py | sort -u); do
  selector=".${cls//!/\\!}"
  if grep -qF "$selector" "$FULL" && ! grep -qF "$selector" "$STATIC/css/app.css"; then
    missing="$missing $cls"
  fi
done
if [ -n "$missing" ]; then
  echo "ERROR: used but not styled; add its component to app.scss:$missing" >&2
  exit 1
fi
for cls in govuk-button govuk-error-summary govuk-table govuk-tag govuk-summary-list govuk-date-input govuk-header; do
  grep -q "\.$cls" "$STATIC/css/app.css" || { echo "ERROR: .$cls missing from app.css" >&2; exit 1; }
done

echo "Built: $STATIC/css/app.css $STATIC/js/govuk-frontend.min.js $STATIC/js/htmx.min.js"
