#!/usr/bin/env bash
# Runs every Keepsake test. As root it installs what the tests need and runs
# the integration tests for real (loop devices, FUSE vfat); as a normal user
# those tests skip and say why. With CI=true a skipped integration test fails.
set -euo pipefail
cd "$(dirname "$0")/.."

# Every package any stage below uses (the UI tests' too) is installed here,
# before the first stage: build-aux/deps.sh lists them by stage.
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
echo "== data files: the app's desktop files, metainfo and icons; the Flatpak manifest and vendored modules"
xmllint --noout --nonet data/icons/hicolor/*/apps/*.svg
if command -v desktop-file-validate >/dev/null && command -v appstreamcli >/dev/null; then
  # Made from the .in files the way meson does (@bindir@ is their only placeholder).
  ( d=$(mktemp -d); trap 'rm -rf "$d"' EXIT
    for f in data/*.desktop.in data/*.metainfo.xml.in; do sed 's|@bindir@|/usr/bin|g' "$f" >"$d/$(basename "$f" .in)"; done
    desktop-file-validate "$d"/*.desktop
    appstreamcli validate --no-net --pedantic "$d"/*.metainfo.xml )
elif [ "${CI:-}" = true ]; then
  echo "keepsake: desktop-file-validate or appstreamcli is missing (build-aux/deps.sh installs them)" >&2; exit 1
fi
echo "== the Files extension's logic (python3 -m unittest; Files itself cannot run here)"
/usr/bin/python3 -m unittest discover -s data/nautilus -p 'test_*.py'
build-aux/check-flatpak.sh
echo "== translations: the .pot current, every language complete and compiling"
build-aux/check-po.sh
echo "== go vet"
go vet ./...
echo "== go test (race) engine, catalog, repository lock, watcher and service (keepsaked built with -race too)"
go test -race -count=1 -timeout 45m ./service/engine/... ./service/catalog/... ./service/repo/... ./service/watch/... ./service/daemon/...
echo "== go test all (the app's GTK tests in a virtual X server)"
if command -v xvfb-run >/dev/null; then
  xvfb-run -a -s '-screen 0 1280x900x24' go test -count=1 -timeout 60m ./...
elif [ "${CI:-}" = true ]; then
  echo "keepsake: xvfb-run is missing (build-aux/deps.sh installs xvfb and xauth): the GTK tests need a display" >&2; exit 1
else
  go test -count=1 -timeout 60m ./...
fi
echo "== the app's UI tests: keepsaked, the app and a person's first hour, through AT-SPI"
build-aux/ui-test.sh
echo "== the same on a btrfs drive, whose snapshots are subvolumes"
build-aux/ui-test.sh --fs btrfs
