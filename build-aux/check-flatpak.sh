#!/usr/bin/env bash
# check-flatpak.sh: what can be checked of the Flatpak without flatpak-builder
# and without network (run by build-aux/test.sh and meson test):
#  1. flatpak/io.github.keepsake.Keepsake.yml is valid YAML with the expected
#     id, runtime, command, finish-args (nothing broader), meson options and
#     offline Go settings, the source archive `meson dist` makes, and a Go
#     toolchain at least as new as go.mod asks for;
#  2. the archive's vendored modules resolve: a copy of the tree is vendored
#     by build-aux/dist-vendor.sh (what `meson dist` runs), then every
#     package's imports are resolved with -mod=vendor, no proxy and an empty
#     module cache, and the service and shared packages are built that way.
#     The app is only resolved (go list), not built: unless Go's cache holds
#     a -trimpath build of gotk4 (meson's builds are -trimpath; go test's and
#     this script's are not, and without -trimpath a vendored package is a
#     different package to the cache), that means compiling gotk4 again
#     (11+ minutes of cgo).
# With CI=true a missing tool fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
manifest=flatpak/io.github.keepsake.Keepsake.yml
go=${GO:-go}

skip() {
  if [ "${CI:-}" = true ]; then echo "check-flatpak: $1" >&2; exit 1; fi
  echo "check-flatpak: skipped: $1" >&2
}

if ! python3 -c 'import yaml' 2>/dev/null; then
  skip "python3 cannot import yaml (Debian: python3-yaml, Fedora: python3-pyyaml)"
else
  python3 - "$manifest" <<'PY'
import re, sys, yaml

path = sys.argv[1]
with open(path) as f:
    m = yaml.safe_load(f)
problems = []
def want(cond, what):
    if not cond:
        problems.append(what)

want((m.get('id') or m.get('app-id')) == 'io.github.keepsake.Keepsake', 'id is not io.github.keepsake.Keepsake')
want(m.get('runtime') == 'org.gnome.Platform', 'runtime is not org.gnome.Platform')
want(str(m.get('runtime-version')) == '43', "runtime-version is not '43' (GTK 4.8, libadwaita 1.2)")
want(m.get('sdk') == 'org.gnome.Sdk', 'sdk is not org.gnome.Sdk')
want(m.get('command') == 'keepsake', 'command is not keepsake')

expected = {
    '--share=ipc', '--socket=wayland', '--socket=fallback-x11', '--device=dri',
    '--system-talk-name=io.github.keepsake.Keepsake1',
    '--talk-name=org.kde.StatusNotifierWatcher',
}
args = m.get('finish-args') or []
want(len(args) == len(set(args)), 'finish-args has duplicates')
want(set(args) == expected, 'finish-args differ: extra %s, missing %s' % (sorted(set(args) - expected), sorted(expected - set(args))))

mods = [x for x in m.get('modules') or [] if isinstance(x, dict) and x.get('name') == 'keepsake']
want(len(mods) == 1, 'no module named keepsake')
if mods:
    k = mods[0]
    want(k.get('buildsystem') == 'meson', 'keepsake is not built with meson')
    opts = k.get('config-opts') or []
    want('-Dservice=false' in opts, 'config-opts lack -Dservice=false')
    want(not any(o.startswith('-Dapp=') and o != '-Dapp=true' for o in opts), 'config-opts turn the app off')
    env = (k.get('build-options') or {}).get('env') or {}
    want('-mod=vendor' in str(env.get('GOFLAGS', '')).split(), 'GOFLAGS lacks -mod=vendor')
    want(str(env.get('GOCACHE', '')).startswith('/run/build/keepsake/'), 'GOCACHE is not inside the build directory')
    want(str(env.get('GOPROXY')) == 'off', 'GOPROXY is not off')
    srcs = k.get('sources') or []

    meson = open('meson.build').read()
    version = re.search(r"project\('keepsake',\s*version:\s*'([^']+)'", meson).group(1)
    archives = [s for s in srcs if s.get('type') == 'archive' and 'path' in s]
    want(any(s['path'] == '../_build/meson-dist/keepsake-%s.tar.xz' % version for s in archives),
         'no archive source ../_build/meson-dist/keepsake-%s.tar.xz (what meson dist makes)' % version)

    gomod = open('go.mod').read()
    need = tuple(int(x) for x in re.search(r'^go (\d+)\.(\d+)', gomod, re.M).groups())
    gos = [s for s in srcs if 'go.dev/dl/' in str(s.get('url', ''))]
    want({a for s in gos for a in s.get('only-arches', [])} >= {'x86_64', 'aarch64'}, 'no Go toolchain for x86_64 and aarch64')
    for s in gos:
        have = tuple(int(x) for x in re.search(r'/go(\d+)\.(\d+)', s['url']).groups())
        want(have >= need, '%s is older than go.mod\'s go %d.%d' % (s['url'], *need))
        want(re.fullmatch(r'[0-9a-f]{64}', str(s.get('sha256', ''))) is not None, '%s has no sha256' % s['url'])
        want(s.get('dest') == '.go', '%s is not unpacked to .go' % s['url'])
    want((k.get('build-options') or {}).get('prepend-path') == '/run/build/keepsake/.go/bin',
         'the Go toolchain (.go/bin) is not first in PATH')

if problems:
    for p in problems:
        print('%s: %s' % (path, p), file=sys.stderr)
    sys.exit(1)
print('check-flatpak: %s: ok' % path)
PY
fi

# 2. The vendored modules, on a copy: the working tree is never touched.
tmp=$(mktemp -d)
trap 'chmod -R u+w "$tmp" 2>/dev/null; rm -rf "$tmp"' EXIT
# Top-level .* and _* (.git, _build, test artifacts) are not sources; Go skips them anyway.
rsync -a --exclude='/.*' --exclude='/_*' --exclude=/build --exclude='*.test' ./ "$tmp/src/"
if [ -f vendor/modules.txt ]; then
  # A dist archive (or a tree vendored by hand): check the vendor/ it has.
  echo "check-flatpak: using the tree's vendor/"
else
  MESON_DIST_ROOT="$tmp/src" build-aux/dist-vendor.sh "$go"
fi
cd "$tmp/src"
export GOFLAGS=-mod=vendor GOPROXY=off GOMODCACHE="$tmp/empty-modcache" GOWORK=off GOTOOLCHAIN=local
"$go" list -deps ./... >/dev/null
echo "check-flatpak: every package's imports resolve from vendor/"
CGO_ENABLED=1 "$go" build ./service/... ./shared/...
echo "check-flatpak: service and shared build from vendor/ with no network"
