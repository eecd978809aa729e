#!/usr/bin/env bash
# Benchmarks the app against a real keepsaked (root: private system bus,
# loop-device drive), in a virtual X server:
#
#   sudo build-aux/bench-app.sh [--files N] [--mb M] [--reps N]
#
# (a) start-up: from exec to the first frame that shows the service's data
#     (KEEPSAKE_BENCH_FIRST_FRAME=1 makes the app print that frame's time
#     and quit), against the smallest libadwaita window built with the
#     same toolkit (app/uitest/hello): the ratio is what Keepsake adds to
#     what GTK costs on this machine. Medians of --reps runs (default 7),
#     taking turns.
# (b) search as you type: the app's search (pages/search.Query: the
#     Search call on the bus and grouping the rows by file) for each
#     prefix of a file name typed one key at a time, over a profile whose
#     drive holds a backup of the corpus of shared/bench/corpus.py
#     (default 20 000 files), against `keepsakectl --repo DRIVE search`
#     of the same text on the drive directly (a process start and the
#     catalog query, no bus). p50 and p95 per keystroke, and their ratio.
# Results are printed and written to build-aux/bench-app.json.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

files=20000 mb=200 reps=7
while [ $# -gt 0 ]; do
  case "$1" in
    --files) files=$2; shift ;;
    --mb) mb=$2; shift ;;
    --reps) reps=$2; shift ;;
    -h|--help) echo "usage: $0 [--files N] [--mb M] [--reps N]"; exit 0 ;;
    *) echo "usage: $0 [--files N] [--mb M] [--reps N]" >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || { echo "bench-app: keepsaked runs as root, and so must this benchmark" >&2; exit 1; }
build-aux/deps.sh python3 dbus udev e2fsprogs util-linux xvfb xauth libgtk-4-dev libadwaita-1-dev
corpus=$(cd "$top/.." && pwd)/shared/bench/corpus.py
[ -f "$corpus" ] || { echo "bench-app: $corpus not found (shared/ must sit beside the checkout)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/keepsake-bench-app.XXXXXX)
. build-aux/private-bus.sh
finish() { local rc=$?; ks_cleanup; rm -rf "$work"; exit $rc; }
trap finish EXIT

echo "== building"
export CGO_ENABLED=1
go build -o "$work/bin/" ./service/cmd/keepsaked ./service/cmd/keepsakectl ./app/cmd/keepsake ./app/uitest/hello
export PATH=$work/bin:$PATH
echo "== corpus: $files files, ~$mb MiB"
src=$work/src
python3 "$corpus" make "$src" --files "$files" --mb "$mb" >/dev/null

echo "== bus, keepsaked, drive, first backup"
ks_bus_start
ks_udevd
ks_drive_make "$work/drive.img" KeepsakeBench $((mb * 3 > 1024 ? mb * 3 : 1024))
ks_daemon_start "$work/bin/keepsaked" "$work" --host bench
keepsakectl create-profile bench "$src" >/dev/null
keepsakectl configure on-change=no interval=off >/dev/null
ks_wait_for 15 sh -c "keepsakectl --json drives | grep -q '$KS_UUID'"
keepsakectl enroll "$KS_UUID" >/dev/null
keepsakectl backup-now >/dev/null
# The drive stays mounted for the --repo comparison.
mnt=$work/mnt; mkdir -p "$mnt"
until [ -z "$(findmnt -rn -S "$KS_LOOP" -o TARGET)" ]; do sleep 0.2; done
mount "$KS_LOOP" "$mnt" # read-write: SQLite opens its WAL

echo "== (a) start-up to the first frame with data, $reps runs each"
firstframe() { # CMD...: seconds from exec to the printed first frame
  local t0 t1
  t0=$(date +%s%N)
  t1=$(xvfb-run -a -s '-screen 0 1280x900x24' env GDK_BACKEND=x11 KEEPSAKE_BENCH_FIRST_FRAME=1 \
    dbus-run-session -- "$@" 2>/dev/null | awk '/^first-frame/ {print $2}')
  [ -n "$t1" ] || { echo "bench-app: $1 printed no first frame" >&2; exit 1; }
  python3 -c "print(($t1 - $t0) / 1e9)"
}
# xvfb-run and dbus-run-session start the same way for both programs, so
# the ratio keeps only the programs' own difference.
app=() hello=()
for i in $(seq "$reps"); do
  app+=("$(firstframe keepsake --no-tray)")
  hello+=("$(firstframe hello)")
done

echo "== (b) search as you type"
pattern=$(find "$src" -name '*.dat' | sort | sed -n '1234p' | xargs basename)
pattern=${pattern%.dat}
search_json=$(KEEPSAKE_BENCH_BUS=1 KEEPSAKE_BENCH_PROFILE=bench KEEPSAKE_BENCH_TYPE="$pattern" \
  go test -run '^$' -bench TypeAhead -benchtime 1x -count 1 ./app/pages/search | awk '/^search-json/ {sub(/^search-json /, ""); last = $0} END {print last}')
cli=()
for i in $(seq ${#pattern}); do
  t0=$(date +%s%N)
  keepsakectl --repo "$mnt" --host bench search "${pattern:0:$i}" >/dev/null || { echo "bench-app: keepsakectl search failed" >&2; exit 1; }
  t1=$(date +%s%N)
  cli+=("$(python3 -c "print(($t1 - $t0) / 1e9)")")
done
# keepsaked keeps the catalog open for a few seconds after the last query.
ks_wait_for 30 umount "$mnt" || umount -l "$mnt"

python3 - "$top/build-aux/bench-app.json" "$files" "$pattern" "$search_json" "${app[*]}" "${hello[*]}" "${cli[*]}" <<'PY'
import json, statistics, sys
out, files, pattern, search, app, hello, cli = sys.argv[1:]
app = [float(x) for x in app.split()]; hello = [float(x) for x in hello.split()]; cli = [float(x) for x in cli.split()]
search = json.loads(search) if search else {}
per_key = search.get("seconds", [])
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
r = {
  "files": int(files), "pattern": pattern,
  "first_frame_seconds": app, "hello_first_frame_seconds": hello,
  "median_first_frame_seconds": statistics.median(app), "median_hello_seconds": statistics.median(hello),
  "ratio_first_frame_hello": statistics.median(app) / statistics.median(hello),
  "search_keystroke_seconds": per_key, "search_results": search.get("results", []),
  "search_p50_seconds": pct(per_key, 50) if per_key else None, "search_p95_seconds": pct(per_key, 95) if per_key else None,
  "cli_search_seconds": cli, "cli_p50_seconds": pct(cli, 50),
}
if per_key:
    r["ratio_search_p50_cli_p50"] = r["search_p50_seconds"] / r["cli_p50_seconds"]
json.dump(r, open(out, "w"), indent=1)
print(f"start-up to first frame with data: median {r['median_first_frame_seconds']:.3f} s vs bare libadwaita window "
      f"{r['median_hello_seconds']:.3f} s: ratio {r['ratio_first_frame_hello']:.2f}")
if per_key:
    print(f"search as you type ({len(pattern)} keys of {pattern!r}, {files} files): p50 {r['search_p50_seconds']*1000:.1f} ms, "
          f"p95 {r['search_p95_seconds']*1000:.1f} ms per keystroke; keepsakectl --repo search p50 {r['cli_p50_seconds']*1000:.1f} ms: "
          f"ratio {r['ratio_search_p50_cli_p50']:.2f}")
PY
