#!/bin/sh
# A separate venv with CloudKitty from PyPI, for bench/billing.py's rating comparison.
set -e
VENV=${CLOUDKITTY_VENV:-/tmp/sws-cloudkitty-venv}
[ -x "$VENV/bin/python" ] || python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet cloudkitty
echo "$VENV"
