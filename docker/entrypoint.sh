#!/bin/sh
# The service image's entry point: `serve` applies the migrations, then serves (as `make
# run` does, without starting a local chain); any other arguments run `azora` itself
# (e.g. `docker compose run --rm azora anchor --once`).
set -eu
if [ "${1:-serve}" = "serve" ]; then
    [ "$#" -gt 0 ] && shift
    echo "==> applying migrations" >&2
    azora db upgrade
    echo "==> serving" >&2
    exec azora serve "$@"
fi
exec azora "$@"
