#!/usr/bin/env bash
# Benchmarks keepsaked itself, through the real service on a private system
# bus with a loop-device drive (root):
#
#   sudo build-aux/bench-service.sh [--files N] [--mb M] [--reps N] [--idle S] [--cold] [--workdir DIR] [--keep]
#
# (a) idle memory: VmRSS and VmHWM of keepsaked (/proc/PID/status) with one
#     profile watching the corpus of shared/bench/corpus.py (default 20 000
#     files, ~200 MiB, 501 folders), after its first full backup finished
#     and it sat idle --idle seconds (default 10); VmHWM is the peak since
#     the start, so it includes that first backup. Also the RSS before any
#     profile existed.
# (b) a change-triggered backup against a full-scan one: a few files change
#     in 2 folders; the watcher's backup (on-change=yes, quiet=1) is timed,
#     then the same kind of change followed by `keepsakectl backup-now
#     --full`. Each runs --reps times (default 3), taking turns. A backup's
#     time is its Job's, from the job history in the service's state.json
#     (started .. ended: mounting the drive, the backup, pruning, syncing,
#     unmounting), and its figures are the Job's Result property, read with
#     busctl; its phases (mounting, backing up, pruning, unmounting) are
#     timed from the PropertiesChanged signals busctl monitor sees, to
#     separate the engine's work from mounting and syncing the drive. The
#     medians and their ratio are printed and written to
#     build-aux/bench-service.json. The page cache is warm unless --cold,
#     which drops it before each change (the changed folders are then the
#     only ones cached, as after a day of work).
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

files=20000 mb=200 reps=3 idle=10 workdir=/var/tmp keep=0 cold=0
usage() { echo "usage: $0 [--files N] [--mb M] [--reps N] [--idle S] [--cold] [--workdir DIR] [--keep]"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --files) files=$2; shift ;;
    --mb) mb=$2; shift ;;
    --reps) reps=$2; shift ;;
    --idle) idle=$2; shift ;;
    --workdir) workdir=$2; shift ;;
    --keep) keep=1 ;;
    --cold) cold=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
if [ "$(id -u)" -ne 0 ]; then
  echo "bench-service: keepsaked runs as root, and so must this benchmark (it also makes a loop device)" >&2
  exit 1
fi

build-aux/deps.sh python3 dbus udev systemd e2fsprogs util-linux mount
corpus=$(cd "$top/.." && pwd)/shared/bench/corpus.py
[ -f "$corpus" ] || { echo "bench-service: $corpus not found (shared/ must sit beside the checkout)" >&2; exit 1; }

work=$(mktemp -d "$workdir/keepsake-bench-service.XXXXXX")
. build-aux/private-bus.sh
mon_pid=
finish() {
  local rc=$?
  trap - EXIT INT TERM
  if [ -n "$mon_pid" ]; then kill "$mon_pid" 2>/dev/null || true; wait "$mon_pid" 2>/dev/null || true; fi
  ks_cleanup
  if [ "$keep" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

echo "bench-service: work dir $work ($(df --output=fstype "$work" | tail -1)), $files files, ~$mb MiB"
go build -o "$work/bin/" ./service/cmd/keepsaked ./service/cmd/keepsakectl
export PATH=$work/bin:$PATH
src=$work/src
python3 "$corpus" make "$src" --files "$files" --mb "$mb"
ndirs=$(find "$src" -type d | wc -l)
sync

# Helpers reading the service's state file and the bus.
cat > "$work/h.py" <<'PY'
import json, subprocess, sys

def state():
    with open(sys.argv[2]) as f:
        return json.load(f)

def ns(t):
    # RFC 3339 with up to 9 fractional digits, UTC ("Z").
    from datetime import datetime, timezone
    t = t.rstrip("Z")
    frac = "0"
    if "." in t:
        t, frac = t.split(".")
    s = datetime.strptime(t, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc).timestamp()
    return int(s) * 10**9 + int((frac + "000000000")[:9])

cmd = sys.argv[1]
if cmd == "last-job":          # last-job STATE: highest job id recorded (0: none)
    print(max([j["id"] for j in state()["jobs"] or []] or [0]))
elif cmd == "job-after":       # job-after STATE ID: first backup job with a larger id, "" if none yet
    js = [j for j in state()["jobs"] or [] if j["id"] > int(sys.argv[3]) and j["operation"] == "backup"]
    print(min(j["id"] for j in js) if js else "")
elif cmd == "job":             # job STATE ID: seconds error of that job
    j = [j for j in state()["jobs"] if j["id"] == int(sys.argv[3])][0]
    print("%.6f %s" % ((ns(j["ended"]) - ns(j["started"])) / 1e9, j.get("error", "") or "ok"))
elif cmd == "result":          # result ID: trigger and Result figures of a Job object
    out = subprocess.run(["busctl", "--system", "--json=short", "get-property", "io.github.keepsake.Keepsake1",
                          "/io/github/keepsake/Keepsake1/jobs/" + sys.argv[2], "io.github.keepsake.Keepsake1.Job",
                          "Trigger", "Result"], check=True, capture_output=True, text=True).stdout.splitlines()
    r = {k: v["data"] for k, v in json.loads(out[1])["data"].items()}
    print(json.loads(out[0])["data"], r["read-dirs"], r["reused-dirs"], r["copied"], r["copied-bytes"],
          "yes" if r["full-scan"] else "no")
elif cmd == "phases":          # phases MONITOR ID: seconds mounting, backing up, pruning+unmounting (busctl monitor)
    path = "/io/github/keepsake/Keepsake1/jobs/" + sys.argv[3]
    t = {}
    for line in open(sys.argv[2]):
        try:
            m = json.loads(line)
        except ValueError:
            continue
        if m.get("path") != path or len(m.get("payload", {}).get("data", [])) < 2:
            continue
        ch = m["payload"]["data"][1]
        key = ch["Phase"]["data"] if "Phase" in ch else ("finished" if ch.get("Finished", {}).get("data") else None)
        if key and key not in t:
            t[key] = m["timestamp-realtime"] / 1e6
    try:
        print("%.6f %.6f %.6f" % (t["backing up"] - t["mounting"], t["pruning"] - t["backing up"], t["finished"] - t["pruning"]))
    except KeyError:
        print("nan nan nan")
elif cmd == "sum":             # sum X...
    print("%.6f" % sum(float(x) for x in sys.argv[2:]))
elif cmd == "ratio":           # ratio A B
    a, b = float(sys.argv[2]), float(sys.argv[3])
    print("%.3f" % (a / b) if b > 0 else "nan")
elif cmd == "median":          # median X...
    xs = sorted(float(x) for x in sys.argv[2:])
    if any(x != x for x in xs):
        print("nan"); sys.exit(0)
    print("%.6f" % (xs[(len(xs) - 1) // 2] if len(xs) % 2 else (xs[len(xs) // 2 - 1] + xs[len(xs) // 2]) / 2))
PY
H() { python3 "$work/h.py" "$@"; }
statefile=$work/state/state.json

kib() { awk -v k="$1" '$1 == k":" {print $2}' "/proc/$KS_DAEMON_PID/status"; }

echo "== starting the bus and keepsaked, and making a $((mb * 3 > 1024 ? mb * 3 : 1024)) MB drive"
ks_bus_start
ks_udevd
ks_drive_make "$work/drive.img" KeepsakeBench $((mb * 3 > 1024 ? mb * 3 : 1024))
ks_daemon_start "$work/bin/keepsaked" "$work" --host bench
sleep 2
rss_empty=$(kib VmRSS)

# settle: until no backup runs and none has started for 3 s (the watcher
# may still start one for changes a full backup already took).
settle() {
  local last
  while :; do
    last=$(H last-job "$statefile" 2>/dev/null || echo 0)
    until [ "$(keepsakectl --json status | ks_json_get state)" != running ]; do sleep 0.1; done
    sleep 3
    [ "$(keepsakectl --json status | ks_json_get state)" != running ] &&
      [ "$(H last-job "$statefile")" = "$last" ] && return 0
  done
}

echo "== first full backup (starts by itself when the drive is enrolled)"
keepsakectl create-profile bench "$src" >/dev/null
keepsakectl configure quiet=1 on-change=yes >/dev/null
ks_wait_for 15 sh -c "keepsakectl --json drives | grep -q '$KS_UUID'"
keepsakectl enroll "$KS_UUID" >/dev/null
until [ -f "$statefile" ] && [ -n "$(H job-after "$statefile" 0)" ]; do sleep 0.2; done
first_id=$(H job-after "$statefile" 0)
read -r first_s first_err < <(H job "$statefile" "$first_id")
[ "$first_err" = ok ] || { echo "bench-service: the first backup failed: $first_err"; tail "$work/keepsaked.log"; exit 1; }
settle
printf '  %-28s %8.3f s\n' "first backup" "$first_s"

echo "== idle for $idle s"
sleep "$idle"
rss_idle=$(kib VmRSS) hwm_idle=$(kib VmHWM)
printf '  %-28s VmRSS %d KiB, VmHWM %d KiB\n' "keepsaked watching $ndirs folders" "$rss_idle" "$hwm_idle"

# Folders with at least 3 files, in a fixed order: each run changes its own.
mapfile -t dirs < <(find "$src" -type f -name '*.dat' -printf '%h\n' | sort | uniq -c | awk '$1 >= 3 {print $2}')
[ "${#dirs[@]}" -ge $((4 * reps)) ] || { echo "bench-service: the corpus has too few folders for $reps runs" >&2; exit 1; }
# change N: append to 3 files in each of 2 folders (a few edited documents).
change() {
  local d f
  if [ "$cold" = 1 ]; then sync; echo 3 > /proc/sys/vm/drop_caches; fi
  for d in "${dirs[@]:$1:2}"; do
    for f in $(find "$d" -maxdepth 1 -type f -name '*.dat' | sort | head -3); do
      head -c 1000 /dev/urandom >> "$f"
    done
  done
}

# Each Job's Phase changes (mounting, backing up, pruning, unmounting) and
# Finished, with the bus's timestamps: where a backup's time goes.
busctl --system monitor --json=short --match \
  "type='signal',interface='org.freedesktop.DBus.Properties',member='PropertiesChanged',path_namespace='/io/github/keepsake/Keepsake1/jobs'" \
  >"$work/monitor.json" 2>/dev/null &
mon_pid=$!
sleep 0.5

declare -a t_change t_full w_full e_change e_full o_change o_full
declare -A R ID
for i in $(seq 1 "$reps"); do
  echo "== run $i of $reps"
  before=$(H last-job "$statefile")
  change $((4 * (i - 1)))
  deadline=$((SECONDS + 120))
  until [ -n "$(H job-after "$statefile" "$before")" ]; do
    [ "$SECONDS" -lt "$deadline" ] || { echo "bench-service: no backup 120 s after a change"; tail "$work/keepsaked.log"; exit 1; }
    sleep 0.05
  done
  id=$(H job-after "$statefile" "$before")
  read -r secs err < <(H job "$statefile" "$id")
  R[change.$i]=$(H result "$id") ID[change.$i]=$id
  [ "$err" = ok ] || { echo "bench-service: backup $id failed: $err"; exit 1; }
  case "${R[change.$i]}" in
    "change "*) ;;
    *) echo "bench-service: backup $id was not started by the change: ${R[change.$i]}" >&2; exit 1 ;;
  esac
  t_change+=("$secs")
  printf '  %-28s %8.3f s  (trigger read-dirs reused-dirs copied copied-bytes full-scan: %s)\n' "change-triggered" "$secs" "${R[change.$i]}"
  settle

  before=$(H last-job "$statefile")
  change $((4 * (i - 1) + 2))
  start=$(date +%s.%N)
  keepsakectl backup-now --full >/dev/null
  end=$(date +%s.%N)
  id=$(H job-after "$statefile" "$before")
  read -r secs err < <(H job "$statefile" "$id")
  R[full.$i]=$(H result "$id") ID[full.$i]=$id
  [ "$err" = ok ] || { echo "bench-service: backup $id failed: $err"; exit 1; }
  t_full+=("$secs")
  w_full+=("$(H sum "$end" "-$start")")
  printf '  %-28s %8.3f s  (trigger read-dirs reused-dirs copied copied-bytes full-scan: %s)\n' "backup-now --full" "$secs" "${R[full.$i]}"
  settle
done
rss_end=$(kib VmRSS) hwm_end=$(kib VmHWM)
kill "$mon_pid" 2>/dev/null || true; wait "$mon_pid" 2>/dev/null || true; mon_pid=
# The engine's share (backing up) and the rest (mount, prune, sync, unmount).
for i in $(seq 1 "$reps"); do
  read -r mnt eng rest < <(H phases "$work/monitor.json" "${ID[change.$i]}")
  e_change+=("$eng") o_change+=("$(H sum "$mnt" "$rest")")
  read -r mnt eng rest < <(H phases "$work/monitor.json" "${ID[full.$i]}")
  e_full+=("$eng") o_full+=("$(H sum "$mnt" "$rest")")
done

med_change=$(H median "${t_change[@]}")
med_full=$(H median "${t_full[@]}")
med_wfull=$(H median "${w_full[@]}")
ratio=$(H ratio "$med_change" "$med_full")
med_echange=$(H median "${e_change[@]}") med_efull=$(H median "${e_full[@]}")
med_ochange=$(H median "${o_change[@]}") med_ofull=$(H median "${o_full[@]}")
eratio=$(H ratio "$med_echange" "$med_efull")
field() { echo "$1" | awk -v n="$2" '{print $n}'; }
rd_change=$(field "${R[change.1]}" 2) ru_change=$(field "${R[change.1]}" 3)
rd_full=$(field "${R[full.1]}" 2) ru_full=$(field "${R[full.1]}" 3)

echo
echo "keepsaked through the service: $files files (~$mb MiB) in $ndirs folders, one profile, $reps runs each, $([ "$cold" = 1 ] && echo cold || echo warm) cache"
printf '%-40s %12s\n' "idle RSS, no profile yet" "$rss_empty KiB"
printf '%-40s %12s\n' "idle RSS, watching, after first backup" "$rss_idle KiB"
printf '%-40s %12s\n' "peak RSS (VmHWM) incl. first backup" "$hwm_idle KiB"
printf '%-40s %12s\n' "RSS / VmHWM after the runs below" "$rss_end / $hwm_end KiB"
printf '%-40s %12.3f s\n' "first full backup (copies everything)" "$first_s"
echo "(medians; job = Job started .. ended; engine = its backing-up phase; other = mount, prune, sync, unmount)"
printf '%-40s %8s %8s %8s %10s %12s\n' "" "job s" "engine s" "other s" "read-dirs" "reused-dirs"
printf '%-40s %8.3f %8.3f %8.3f %10s %12s\n' "change-triggered (2 folders, 6 files)" "$med_change" "$med_echange" "$med_ochange" "$rd_change" "$ru_change"
printf '%-40s %8.3f %8.3f %8.3f %10s %12s\n' "backup-now --full (same change)" "$med_full" "$med_efull" "$med_ofull" "$rd_full" "$ru_full"
printf '%-40s %8s %8s\n' "ratio change / full" "$ratio" "$eratio"
printf '%-40s %8.3f\n' "backup-now --full, client wall time" "$med_wfull"

# JSON has no NaN: a phase the monitor missed is null.
jsonlist() { local IFS=,; echo "[$*]" | sed 's/nan/null/g'; }
jnum() { if [ "$1" = nan ]; then echo null; else echo "$1"; fi; }
resjson() { # "trigger rd ru copied copied-bytes full" -> JSON object
  echo "$1" | awk '{printf "{\"trigger\": \"%s\", \"read_dirs\": %s, \"reused_dirs\": %s, \"copied\": %s, \"copied_bytes\": %s, \"full_scan\": %s}", $1, $2, $3, $4, $5, ($6 == "yes" ? "true" : "false")}'
}
{
  echo "{\"files\": $files, \"mb\": $mb, \"dirs\": $ndirs, \"reps\": $reps, \"idle_seconds\": $idle, \"cold\": $cold,"
  echo " \"rss_kib\": {\"no_profile\": $rss_empty, \"idle_watching\": $rss_idle, \"hwm_after_first_backup\": $hwm_idle, \"end\": $rss_end, \"hwm_end\": $hwm_end},"
  echo " \"first_backup_seconds\": $first_s,"
  echo " \"change_seconds\": $(jsonlist "${t_change[@]}"), \"full_seconds\": $(jsonlist "${t_full[@]}"),"
  echo " \"full_client_wall_seconds\": $(jsonlist "${w_full[@]}"),"
  echo " \"change_engine_seconds\": $(jsonlist "${e_change[@]}"), \"full_engine_seconds\": $(jsonlist "${e_full[@]}"),"
  echo " \"change_other_seconds\": $(jsonlist "${o_change[@]}"), \"full_other_seconds\": $(jsonlist "${o_full[@]}"),"
  echo " \"median_change_seconds\": $med_change, \"median_full_seconds\": $med_full, \"ratio_change_full\": $ratio,"
  echo " \"median_change_engine_seconds\": $(jnum "$med_echange"), \"median_full_engine_seconds\": $(jnum "$med_efull"), \"ratio_change_full_engine\": $(jnum "$eratio"),"
  echo -n " \"change_results\": ["
  for i in $(seq 1 "$reps"); do [ "$i" -gt 1 ] && echo -n ", "; resjson "${R[change.$i]}"; done
  echo "],"
  echo -n " \"full_results\": ["
  for i in $(seq 1 "$reps"); do [ "$i" -gt 1 ] && echo -n ", "; resjson "${R[full.$i]}"; done
  echo "]}"
} > build-aux/bench-service.json
python3 -m json.tool build-aux/bench-service.json >/dev/null
echo "wrote build-aux/bench-service.json"
