#!/usr/bin/env bash
# Benchmarks the app against a real keepsaked (root: private system bus,
# loop-device drive), in a virtual X server:
#
#   sudo build-aux/bench-app.sh [--files N] [--mb M] [--reps N] [--names N]
#
# (a) start-up: from exec to the first frame that shows the service's data
#     (KEEPSAKE_BENCH_FIRST_FRAME=1 makes the app print that frame's time
#     and the profiles it shows, and quit), against the smallest
#     libadwaita window built with the same toolkit (app/uitest/hello):
#     the ratio is what Keepsake adds to what GTK costs on this machine.
#     Medians of --reps runs (default 7), taking turns. A run counts only
#     if its frame shows the benchmark's profile; the app is also started
#     once with the service out of reach, and must then refuse to report
#     a first frame (the check cannot pass on a window without data).
# (b) search as you type: the app's search (pages/search.Query: the
#     Search call on the bus, with the page's limit, and grouping the rows
#     by file) for each prefix of --names file names (default 12) typed
#     one key at a time, over a profile whose drive holds a backup of the
#     corpus of shared/bench/corpus.py (default 20 000 files), against
#     `keepsakectl --repo DRIVE search --limit L` of the same text on the
#     drive directly (a process start and the catalog query, no bus) with
#     the same limit L. The service's own time per Search (from the call
#     to the reply, as the bus sees them: busctl monitor) is reported
#     apart. p50 and p95 per keystroke, and their ratios.
# Results are printed and written to build-aux/bench-app.json.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

files=20000 mb=200 reps=7 names=12
usage() { echo "usage: $0 [--files N] [--mb M] [--reps N] [--names N]"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --files) files=$2; shift ;;
    --mb) mb=$2; shift ;;
    --reps) reps=$2; shift ;;
    --names) names=$2; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
[ "$(id -u)" -eq 0 ] || { echo "bench-app: keepsaked runs as root, and so must this benchmark" >&2; exit 1; }
build-aux/deps.sh python3 dbus udev e2fsprogs util-linux xvfb xauth libgtk-4-dev libadwaita-1-dev
corpus=$(cd "$top/.." && pwd)/shared/bench/corpus.py
[ -f "$corpus" ] || { echo "bench-app: $corpus not found (shared/ must sit beside the checkout)" >&2; exit 1; }

work=$(mktemp -d /var/tmp/keepsake-bench-app.XXXXXX)
. build-aux/private-bus.sh
mon_pid=
finish() {
  local rc=$?
  if [ -n "$mon_pid" ]; then kill "$mon_pid" 2>/dev/null || true; wait "$mon_pid" 2>/dev/null || true; fi
  ks_cleanup; rm -rf "$work"; exit $rc
}
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
# firstframe WANT CMD...: seconds from exec to the printed first frame;
# with WANT set, the frame must show that profile (the service's data).
firstframe() {
  local want=$1 t0 out t1; shift
  t0=$(date +%s%N)
  out=$(xvfb-run -a -s '-screen 0 1280x900x24' env GDK_BACKEND=x11 KEEPSAKE_BENCH_FIRST_FRAME=1 \
    dbus-run-session -- "$@" 2>/dev/null | grep '^first-frame' | head -1) || true
  case "$out" in
    "first-frame "*) ;;
    *) echo "bench-app: $1 printed no first frame with data: ${out:-nothing}" >&2; exit 1 ;;
  esac
  if [ -n "$want" ] && ! [[ " $out" =~ [[:space:]]profiles=([^[:space:]]*,)?$want(,|$) ]]; then
    echo "bench-app: $1's first frame does not show profile $want: $out" >&2; exit 1
  fi
  t1=$(echo "$out" | awk '{print $2}')
  python3 -c "print(($t1 - $t0) / 1e9)"
}
# The hook must not count a window without data: with the service out of
# reach the app has to say so instead of printing a first frame.
out=$(DBUS_SYSTEM_BUS_ADDRESS=unix:path=$work/no-bus xvfb-run -a -s '-screen 0 1280x900x24' env GDK_BACKEND=x11 \
  KEEPSAKE_BENCH_FIRST_FRAME=1 dbus-run-session -- keepsake --no-tray 2>/dev/null | grep '^first-frame' | head -1) || true
case "$out" in
  first-frame-failed*) echo "  without the service: $out" ;;
  *) echo "bench-app: with the service out of reach the app printed ${out:-nothing}, not first-frame-failed" >&2; exit 1 ;;
esac
# xvfb-run and dbus-run-session start the same way for both programs, so
# the ratio keeps only the programs' own difference.
app=() hello=()
for i in $(seq "$reps"); do
  app+=("$(firstframe bench keepsake --no-tray)")
  hello+=("$(firstframe "" hello)")
done

echo "== (b) search as you type: $names names, one key at a time"
# File names spread over the corpus, without their extension.
count=$(find "$src" -name '*.dat' | wc -l)
typed=$(find "$src" -name '*.dat' -printf '%f\n' | sort | awk -v n="$names" -v c="$count" \
  'NR % int(c / n) == 0 && k < n {sub(/\.dat$/, ""); printf "%s%s", (k++ ? "," : ""), $0}')
# The service's Search calls and their replies, with the bus's timestamps.
busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" monitor --json=short >"$work/monitor.json" 2>/dev/null &
mon_pid=$!
sleep 0.5
search_json=$(KEEPSAKE_BENCH_BUS=1 KEEPSAKE_BENCH_PROFILE=bench KEEPSAKE_BENCH_TYPE="$typed" \
  go test -run '^$' -bench TypeAhead -benchtime 1x -count 1 ./app/pages/search | awk '/^search-json/ {sub(/^search-json /, ""); last = $0} END {print last}')
sleep 0.5
kill "$mon_pid" 2>/dev/null || true; wait "$mon_pid" 2>/dev/null || true; mon_pid=
[ -n "$search_json" ] || { echo "bench-app: the search benchmark printed no results" >&2; exit 1; }
limit=$(echo "$search_json" | python3 -c 'import json,sys; print(json.load(sys.stdin)["limit"])')
echo "$search_json" | python3 -c 'import json,sys; print("\n".join(json.load(sys.stdin)["keys"]))' > "$work/keys"
cli=() cli_hits=()
while IFS= read -r key; do
  t0=$(date +%s%N)
  keepsakectl --repo "$mnt" --host bench --json search --limit "$limit" "$key" >"$work/cli.out" || { echo "bench-app: keepsakectl search failed" >&2; exit 1; }
  t1=$(date +%s%N)
  cli+=("$(( t1 - t0 ))")
  # Hits, and the files among them (the app's page leaves folders out).
  cli_hits+=("$(python3 -c 'import json,sys; h = json.load(open(sys.argv[1])); print("%d:%d" % (len(h), len(set(x["path"] for x in h if x["type"] != "dir"))))' "$work/cli.out")")
done < "$work/keys"
# keepsaked keeps the catalog open for a few seconds after the last query.
ks_wait_for 30 umount "$mnt" || umount -l "$mnt"

python3 - "$top/build-aux/bench-app.json" "$files" "$search_json" "$work/monitor.json" "${app[*]}" "${hello[*]}" "${cli[*]}" "${cli_hits[*]}" <<'PY'
import json, statistics, sys
out, files, search, monitor, app, hello, cli, cli_hits = sys.argv[1:]
app = [float(x) for x in app.split()]; hello = [float(x) for x in hello.split()]
cli = [int(x) / 1e9 for x in cli.split()]
cli_hits, cli_files = zip(*[map(int, x.split(":")) for x in cli_hits.split()]) if cli_hits else ((), ())
search = json.loads(search)
per_key, keys = search["seconds"], search["keys"]
# The service's own time per Search: from the call to its reply on the bus.
calls, service = {}, []
for line in open(monitor):
    try:
        m = json.loads(line)
    except ValueError:
        continue
    if m.get("type") == "method_call" and m.get("member") == "Search":
        calls[(m["sender"], m["cookie"])] = m["timestamp-realtime"]
    elif m.get("type") in ("method_return", "error") and (m.get("destination"), m.get("reply_cookie")) in calls:
        service.append((m["timestamp-realtime"] - calls.pop((m["destination"], m["reply_cookie"]))) / 1e6)
if len(service) != len(per_key) or len(cli) != len(per_key):
    sys.exit(f"bench-app: {len(per_key)} keystrokes, but {len(service)} Search replies on the bus and {len(cli)} keepsakectl runs")
# Like with like: both asked for the same number of hits; one backup holds
# one version of each file, so both must have found as many files.
diff = [(k, a, c) for k, a, c in zip(keys, search["results"], cli_files) if a != c]
if diff:
    sys.exit(f"bench-app: the app and keepsakectl found different numbers of files (text, app, keepsakectl): {diff[:5]}")
def pct(v, p):
    v = sorted(v); return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]
r = {
  "files": int(files), "names_typed": sorted(set(k for k in keys if not any(o != k and o.startswith(k) for o in keys))),
  "keystrokes": len(keys), "limit": search["limit"],
  "first_frame_seconds": app, "hello_first_frame_seconds": hello,
  "median_first_frame_seconds": statistics.median(app), "median_hello_seconds": statistics.median(hello),
  "ratio_first_frame_hello": statistics.median(app) / statistics.median(hello),
  "search_keys": keys, "search_keystroke_seconds": per_key, "search_files_found": search["results"],
  "search_p50_seconds": pct(per_key, 50), "search_p95_seconds": pct(per_key, 95),
  "service_search_seconds": service, "service_p50_seconds": pct(service, 50), "service_p95_seconds": pct(service, 95),
  "cli_search_seconds": cli, "cli_hits": cli_hits, "cli_files_found": cli_files, "cli_p50_seconds": pct(cli, 50), "cli_p95_seconds": pct(cli, 95),
}
r["ratio_search_p50_cli_p50"] = r["search_p50_seconds"] / r["cli_p50_seconds"]
r["ratio_search_p95_cli_p95"] = r["search_p95_seconds"] / r["cli_p95_seconds"]
json.dump(r, open(out, "w"), indent=1)
ms = lambda x: f"{x * 1000:.1f} ms"
print(f"start-up to first frame with data: median {r['median_first_frame_seconds']:.3f} s vs bare libadwaita window "
      f"{r['median_hello_seconds']:.3f} s: ratio {r['ratio_first_frame_hello']:.2f}")
print(f"search as you type ({len(keys)} keystrokes over {len(r['names_typed'])} names, {files} files, at most {r['limit']} hits on both sides):")
print(f"  app (bus + service + grouping)  p50 {ms(r['search_p50_seconds'])}, p95 {ms(r['search_p95_seconds'])}")
print(f"  service's own time per Search   p50 {ms(r['service_p50_seconds'])}, p95 {ms(r['service_p95_seconds'])}")
print(f"  keepsakectl --repo search       p50 {ms(r['cli_p50_seconds'])}, p95 {ms(r['cli_p95_seconds'])}")
print(f"  ratio app / keepsakectl         p50 {r['ratio_search_p50_cli_p50']:.2f}, p95 {r['ratio_search_p95_cli_p95']:.2f}")
PY
