#!/usr/bin/env bash
# Runs every Keepsake test. As root it installs what the tests need and runs
# the integration tests for real (loop devices, FUSE vfat); as a normal user
# those tests skip and say why. With CI=true a skipped integration test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! build-aux/deps.sh; then
  # A developer without root still runs every test that can run; the
  # others skip and say which package they miss.
  [ "$(id -u)" -ne 0 ] || { echo "keepsake: cannot install test dependencies" >&2; exit 1; }
  echo "keepsake: continuing without them: the tests that need them will skip" >&2
fi

export CGO_ENABLED=1
echo "== data files: XML well-formed, systemd unit verified"
for f in data/*.xml data/*.policy data/*.conf build-aux/private-system-bus.conf.in; do xmllint --noout --nonet "$f"; done
if command -v systemd-analyze >/dev/null; then
  sh systemd/verify-unit.sh systemd-analyze systemd/keepsake.service.in
elif [ "${CI:-}" = true ]; then
  echo "keepsake: systemd-analyze is missing (build-aux/deps.sh installs it)" >&2; exit 1
fi
echo "== go vet"
go vet ./...
echo "== go test (race) engine and catalog"
go test -race -count=1 -timeout 30m ./service/engine/... ./service/catalog/...
echo "== go test all"
go test -count=1 -timeout 60m ./...
