#!/bin/sh
# dist-vendor.sh GO: meson's dist script (see meson.build). `meson dist` runs
# it in the fresh copy of the tree it is about to archive ($MESON_DIST_ROOT),
# never in the working tree: Go's modules are copied into vendor/ there, so
# the archive builds with no network (flatpak-builder builds offline;
# distributions too). Go builds use vendor/ by itself when it is there.
# build-aux/check-flatpak.sh runs it the same way on a copy of the tree.
set -eu
go=${1:-go}
cd "${MESON_DIST_ROOT:?MESON_DIST_ROOT is not set: meson dist runs this}"
"$go" mod vendor
echo "dist-vendor: vendored $(grep -c '^# ' vendor/modules.txt) modules into $MESON_DIST_ROOT/vendor"
