#!/usr/bin/env bash
# Makes sure a PostgreSQL server answers on 127.0.0.1:5432 (starting the local cluster if not).
# The test suite creates its own databases on it.
set -euo pipefail
host=127.0.0.1 port=5432
if pg_isready -q -h "$host" -p "$port" 2>/dev/null; then exit 0; fi
echo "PostgreSQL is not answering on $host:$port; starting it" >&2
if command -v pg_ctlcluster >/dev/null 2>&1; then
  version=$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)
  if [ -n "$version" ]; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
fi
if ! command -v pg_ctlcluster >/dev/null 2>&1 || [ -z "${version:-}" ]; then
  echo "installing PostgreSQL from Debian's packages" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
fi
for _ in $(seq 1 60); do
  pg_isready -q -h "$host" -p "$port" && exit 0
  sleep 0.5
done
echo "PostgreSQL did not come up on $host:$port" >&2
exit 1
