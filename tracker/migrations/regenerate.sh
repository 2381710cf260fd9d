#!/bin/sh
# Regenerates 0001_initial.py from tracker.models. Only valid before the first
# release: after that, schema changes are new numbered migrations.
set -e
cd "$(dirname "$0")/../.."
rm -f tracker/migrations/0001_initial.py /tmp/pwmig.db
.venv/bin/python -m playhouse.migrations sqlite:////tmp/pwmig.db initial -d tracker/migrations "tracker.models:ALL_MODELS" >/dev/null
sed -i '/^# TODO: .*default <function utcnow/d' tracker/migrations/0001_initial.py
sed -i '1a # Python-side defaults (utcnow) live on the models, not in the schema.' tracker/migrations/0001_initial.py
