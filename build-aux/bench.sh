#!/usr/bin/env bash
# Benchmarks Keepsake against rsync -a, rsync -a --link-dest and cp -al in
# one run, on one disk, on the corpus of shared/bench/corpus.py, and prints
# ratios against the targets.
#
#   build-aux/bench.sh [--files N] [--mb M] [--big] [--reps N] [--workdir DIR] [--keep] [--cold]
#
# The first full and the unchanged phases run --reps times (default 3),
# the tools taking turns, and the median counts: disks of virtual machines
# vary a lot from one minute to the next.
#
# Every timed command is followed by `sync` inside its timing: a backup
# counts when its data is on the disk (Keepsake flushes itself; rsync and cp
# do not). --cold drops the page cache before each timed command (root).
#
# After every timed Keepsake backup, outside its timing, the snapshot it
# made is compared with the source: the same names, types, bytes, modes,
# owners and modification times (folders included); any difference fails
# the benchmark. The dirty-folder run reads the folders the service's own
# watcher (service/watch, through build-aux/benchwatch) recorded while the
# corpus changed, as keepsaked does after its first full backup.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

files=20000 mb=450 workdir=/var/tmp keep=0 cold=0 reps=3
while [ $# -gt 0 ]; do
  case "$1" in
    --files) files=$2; shift ;;
    --mb) mb=$2; shift ;;
    --big) files=200000; mb=2000 ;;
    --workdir) workdir=$2; shift ;;
    --keep) keep=1 ;;
    --cold) cold=1 ;;
    --reps) reps=$2; shift ;;
    *) echo "usage: $0 [--files N] [--mb M] [--big] [--workdir DIR] [--keep] [--cold]" >&2; exit 2 ;;
  esac
  shift
done

build-aux/deps.sh rsync python3 time bc gcc
corpus=$(cd "$top/.." && pwd)/shared/bench/corpus.py
[ -f "$corpus" ] || { echo "bench: $corpus not found (shared/ must sit beside the checkout)" >&2; exit 1; }

work=$(mktemp -d "$workdir/keepsake-bench.XXXXXX")
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
echo "bench: work dir $work ($(df --output=fstype "$work" | tail -1)), $files files, ~$mb MiB"
go build -o "$work/" ./service/cmd/keepsakectl ./build-aux/benchwatch
K() { "$work/keepsakectl" "$@"; }

# check NAME REPO: the newest snapshot in REPO holds exactly the source.
cat > "$work/treecheck.py" <<'PY'
import json, os, stat, sys
src, snap, cache_file, name = sys.argv[1:]
# Byte comparisons already made: a source inode whose ctime did not change
# against a snapshot inode whose ctime did not change are still equal.
try:
    cache = {tuple(json.loads(k)): tuple(v) for k, v in json.load(open(cache_file)).items()}
except FileNotFoundError:
    cache = {}
def walk(top):
    out = {"": os.lstat(top)}
    for root, dirs, files in os.walk(top):
        for n in dirs + files:
            p = os.path.join(root, n)
            out[os.path.relpath(p, top)] = os.lstat(p)
    return out
a, b = walk(src), walk(snap)
bad = [f"only in the source: {p!r}" for p in sorted(a.keys() - b.keys())]
bad += [f"only in the snapshot: {p!r}" for p in sorted(b.keys() - a.keys())]
def same_bytes(p, x, y):
    key, val = (x.st_dev, x.st_ino), (x.st_ctime_ns, y.st_dev, y.st_ino, y.st_ctime_ns)
    if cache.get(key) == val:
        return True
    with open(os.path.join(src, p), "rb") as f, open(os.path.join(snap, p), "rb") as g:
        while True:
            u, v = f.read(1 << 20), g.read(1 << 20)
            if u != v:
                return False
            if not u:
                break
    cache[key] = val
    return True
files = size = 0
for p in sorted(a.keys() & b.keys()):
    x, y = a[p], b[p]
    for what, u, v in (("type", stat.S_IFMT(x.st_mode), stat.S_IFMT(y.st_mode)), ("mode", oct(stat.S_IMODE(x.st_mode)), oct(stat.S_IMODE(y.st_mode))),
                       ("owner", (x.st_uid, x.st_gid), (y.st_uid, y.st_gid)), ("mtime_ns", x.st_mtime_ns, y.st_mtime_ns)):
        if u != v:
            bad.append(f"{p or '.'!r}: {what} {u} in the source, {v} in the snapshot")
    if stat.S_ISREG(x.st_mode) and stat.S_ISREG(y.st_mode):
        files += 1; size += x.st_size
        if x.st_size != y.st_size or not same_bytes(p, x, y):
            bad.append(f"{p!r}: other bytes in the snapshot")
    elif stat.S_ISLNK(x.st_mode) and stat.S_ISLNK(y.st_mode) and os.readlink(os.path.join(src, p)) != os.readlink(os.path.join(snap, p)):
        bad.append(f"{p!r}: the link points elsewhere in the snapshot")
json.dump({json.dumps(k): v for k, v in cache.items()}, open(cache_file, "w"))
if bad:
    print(f"bench: the snapshot of {name} differs from the source ({len(bad)} differences):", *bad[:20], sep="\n  ", file=sys.stderr)
    sys.exit(1)
print(f"  {'(checked)':22s} {files} files, {len(a) - files} other entries, {size} bytes: the snapshot equals the source")
PY
check() {
  local snap
  snap=$(readlink -f "$2/Keepsake/bench/latest") || { echo "bench: $1 left no latest snapshot in $2" >&2; exit 1; }
  python3 "$work/treecheck.py" "$src" "$snap$src" "$work/treecheck.json" "$1"
}

src=$work/src
python3 "$corpus" make "$src" --files "$files" --mb "$mb" >/dev/null
sync

timed_width=22
. "$top/build-aux/bench-timed.sh"

# Disk bytes of a tree, each inode once (du counts hardlinks once per call).
space() { du -s -B1 --exclude=catalog.db --exclude=catalog.db-wal --exclude=catalog.db-shm "$@" | awk '{s+=$1} END {printf "%.0f\n", s}'; }

# median NAME: the median of T[NAME.1..reps] into T[NAME].
median() {
  local name=$1 i
  T[$name]=$(for i in $(seq 1 "$reps"); do echo "${T[$name.$i]}"; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  local r=0
  for i in $(seq 1 "$reps"); do [ "${RSS[$name.$i]:-0}" -gt "$r" ] && r=${RSS[$name.$i]}; done
  RSS[$name]=$r
  printf '  %-22s %8.3f s (median of %d)\n' "$name" "${T[$name]}" "$reps"
}

echo "== first full backup"
mkdir -p "$work/r"
# The tools take turns going first, so neither always meets the disk
# right after the other's writes.
for i in $(seq 1 "$reps"); do
  mkdir -p "$work/k$i"
  K --repo "$work/k$i" init >/dev/null
  if [ $((i % 2)) = 1 ]; then
    timed k_full.$i K --repo "$work/k$i" --host bench backup "$src"
    check k_full.$i "$work/k$i"
    timed rsync_full.$i rsync -a "$src/" "$work/r/full$i/"
  else
    timed rsync_full.$i rsync -a "$src/" "$work/r/full$i/"
    timed k_full.$i K --repo "$work/k$i" --host bench backup "$src"
    check k_full.$i "$work/k$i"
  fi
done
median k_full; median rsync_full
# One of each is kept for the next phases; the others only cost space.
mv "$work/k1" "$work/k"; mv "$work/r/full1" "$work/r/1"
for i in $(seq 2 "$reps"); do rm -rf "$work/k$i" "$work/r/full$i"; done
sync; sleep 2 # let the filesystem finish freeing them before timing again

echo "== unchanged incremental"
for i in $(seq 1 "$reps"); do
  k_before=$(space "$work/k/Keepsake")
  [ $((i % 2)) = 0 ] && timed rsync_unchanged.$i rsync -a --link-dest="$work/r/1" "$src/" "$work/r/unchanged$i/"
  timed k_unchanged.$i K --repo "$work/k" --host bench backup "$src"
  # Every snapshot is a full tree: its folders cost a block each even
  # when nothing changed. The moved-folder run is compared to this floor.
  k_tree=$(( $(space "$work/k/Keepsake") - k_before ))
  check k_unchanged.$i "$work/k"
  [ $((i % 2)) = 1 ] && timed rsync_unchanged.$i rsync -a --link-dest="$work/r/1" "$src/" "$work/r/unchanged$i/"
  timed cpal_unchanged.$i cp -al "$work/r/1" "$work/r/cpal$i"
done
median k_unchanged; median rsync_unchanged; median cpal_unchanged
mv "$work/r/unchanged1" "$work/r/2"

echo "== 1% mutated incremental"
# A second repository in the same state, for the dirty-folder run, with
# the service's watcher on the source. As in keepsaked, its first batch
# asks for a full scan (nothing was watched before it started): a backup
# of k2 while watching is that scan, and committing it leaves the
# watcher recording only what changes next.
cp -a "$work/k" "$work/k2"
coproc W { exec "$work/benchwatch" -journal "$work/journal" "$src"; }
wsay() { echo "$1" >&"${W[1]}"; read -r -t "${2:-60}" reply <&"${W[0]}" || { echo "bench: benchwatch did not answer $1" >&2; exit 1; }; }
read -r -t 120 reply <&"${W[0]}" || { echo "bench: benchwatch did not start" >&2; exit 1; }
echo "  (watcher: $reply folders)"
wsay "batch $work/journal-first"
[ "$reply" != "${reply%full=true}" ] || { echo "bench: the watcher's first batch did not ask for a full scan: $reply" >&2; exit 1; }
K --repo "$work/k2" --host bench backup "$src" >/dev/null
wsay commit
touch "$work/marker"; sleep 1
python3 "$corpus" mutate "$src" --pct 1 >/dev/null
# keepsaked starts its backup once the watcher has been quiet for a while.
wsay "quiet 120" 125
[ "$reply" = quiet ] || { echo "bench: the watcher saw no change" >&2; exit 1; }
wsay "batch $work/changed-dirs"
case "$reply" in *full=false) ;; *) echo "bench: the watcher asked for a full scan after the change: $reply" >&2; exit 1 ;; esac
# Every folder whose entries changed, and the parent of every file written
# in place, must be in the watcher's list (else the snapshot check below
# fails too); the list may hold more.
{ find "$src" -type d -newer "$work/marker"; find "$src" -type f -newer "$work/marker" -printf '%h\n'; } | sort -u > "$work/changed-oracle"
missed=$(comm -23 "$work/changed-oracle" <(sort -u "$work/changed-dirs") | wc -l)
echo "  (the watcher recorded $(wc -l < "$work/changed-dirs") changed folders; find -newer sees $(wc -l < "$work/changed-oracle"); missed: $missed)"
[ "$missed" = 0 ] || { echo "bench: the watcher missed $missed changed folders" >&2; exit 1; }
timed k_mutated K --repo "$work/k" --host bench backup "$src"
check k_mutated "$work/k"
timed k_mutated_dirty K --repo "$work/k2" --host bench backup --changed-dirs "$work/changed-dirs" "$src"
check k_mutated_dirty "$work/k2"
wsay commit
wfd=${W[1]}; exec {wfd}>&-; wait "$W_PID" 2>/dev/null || true
timed rsync_mutated rsync -a --link-dest="$work/r/2" "$src/" "$work/r/3/"

echo "== moved big folder"
python3 "$corpus" move-big "$src" >/dev/null
k_before=$(space "$work/k/Keepsake")
r_before=$(space "$work/r")
timed k_moved K --repo "$work/k" --host bench --json backup "$src"
check k_moved "$work/k"
k_moved_copied=$(tail -1 "$work/out.k_moved" | python3 -c 'import json,sys; print(json.load(sys.stdin)["copied_bytes"])')
timed rsync_moved rsync -a --link-dest="$work/r/3" "$src/" "$work/r/4/"
k_new=$(( $(space "$work/k/Keepsake") - k_before ))
r_new=$(( $(space "$work/r") - r_before ))

echo "== deleting a snapshot"
# The oldest snapshot goes by prune (catalog and folder); rm -rf gets a
# cp -al copy of the same folder: the same entries, the same link counts.
snaps_json=$(K --repo "$work/k" --host bench --json snapshots)
oldest=$(echo "$snaps_json" | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])')
count=$(echo "$snaps_json" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')
cp -al "$work/k/Keepsake/bench/$oldest" "$work/rmcopy"
K --repo "$work/k" --host bench policy --keep-last $((count - 1)) >/dev/null
timed k_prune K --repo "$work/k" --host bench prune
[ ! -e "$work/k/Keepsake/bench/$oldest" ] || { echo "bench: prune left snapshot $oldest" >&2; exit 1; }
check k_prune "$work/k"
timed rm_rf rm -rf "$work/rmcopy"

peak=0
for k in "${!RSS[@]}"; do [ "${RSS[$k]:-0}" -gt "$peak" ] && peak=${RSS[$k]}; done

# Always with a leading zero: bc prints ".746", which bench.json cannot hold.
ratio() { printf '%.3f\n' "$(echo "scale=4; $1 / $2" | bc -l)"; }
# pairratio A B: the median over the repetitions of A.i / B.i; each pair
# ran back to back, so a disk that slows down for a minute cancels out.
pairratio() {
  local i
  for i in $(seq 1 "$reps"); do ratio "${T[$1.$i]}" "${T[$2.$i]}"; done | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'
}
verdict() { if [ "$(echo "$1 <= $2" | bc -l)" = 1 ]; then echo PASS; else echo SHORT; fi; }
r_full=$(pairratio k_full rsync_full)
r_unch_rsync=$(pairratio k_unchanged rsync_unchanged)
r_unch_cp=$(pairratio k_unchanged cpal_unchanged)
r_mut=$(ratio "${T[k_mutated]}" "${T[rsync_mutated]}")
r_mut_dirty=$(ratio "${T[k_mutated_dirty]}" "${T[rsync_mutated]}")
r_moved=$(ratio "${T[k_moved]}" "${T[rsync_moved]}")
r_prune=$(ratio "${T[k_prune]}" "${T[rm_rf]}")

echo
echo "Keepsake vs rsync/cp on $files files (~$mb MiB), $( [ "$cold" = 1 ] && echo cold || echo warm) cache, times include a final sync"
echo "(first three rows: median times, and the median of the $reps per-pair ratios)"
printf '%-32s %10s %10s %8s  %s\n' phase keepsake other ratio target
printf '%-32s %10.3f %10.3f %8s  %s\n' "full vs rsync -a" "${T[k_full]}" "${T[rsync_full]}" "$r_full" "<= 0.8 $(verdict "$r_full" 0.8)"
printf '%-32s %10.3f %10.3f %8s  %s\n' "unchanged vs rsync --link-dest" "${T[k_unchanged]}" "${T[rsync_unchanged]}" "$r_unch_rsync" "<= 0.25 $(verdict "$r_unch_rsync" 0.25)"
printf '%-32s %10.3f %10.3f %8s  %s\n' "unchanged vs cp -al" "${T[k_unchanged]}" "${T[cpal_unchanged]}" "$r_unch_cp" "<= 2 $(verdict "$r_unch_cp" 2)"
printf '%-32s %10.3f %10.3f %8s\n' "1% mutated vs rsync --link-dest" "${T[k_mutated]}" "${T[rsync_mutated]}" "$r_mut"
printf '%-32s %10.3f %10.3f %8s\n' "  same, --changed-dirs" "${T[k_mutated_dirty]}" "${T[rsync_mutated]}" "$r_mut_dirty"
printf '%-32s %10.3f %10.3f %8s\n' "moved folder vs rsync --link-dest" "${T[k_moved]}" "${T[rsync_moved]}" "$r_moved"
printf '%-32s %10s %10s %8s  %s\n' "moved folder new space (bytes)" "$k_new" "$r_new" "" "(all of it folders: an unchanged run adds $k_tree)"
printf '%-32s %10s %10s %8s  %s\n' "  beyond an unchanged snapshot" "$((k_new - k_tree))" "" "" "<= 1048576 $(verdict "$((k_new - k_tree))" 1048576)"
printf '%-32s %10s %10s %8s  %s\n' "  file data copied (bytes)" "$k_moved_copied" "" "" "<= 1048576 $(verdict "$k_moved_copied" 1048576)"
printf '%-32s %10.3f %10.3f %8s  %s\n' "delete a snapshot vs rm -rf" "${T[k_prune]}" "${T[rm_rf]}" "$r_prune" "<= 1 $(verdict "$r_prune" 1)"
printf '%-32s %10s %10s %8s  %s\n' "peak RSS keepsakectl (KiB)" "$peak" "" "" "<= 102400 $(verdict "$peak" 102400)"
echo "catalog: $(du -cb "$work"/k/Keepsake/catalog.db* | tail -1 | cut -f1) bytes"

cat > "$work/bench.json" <<JSON
{"files": $files, "mb": $mb, "cold": $cold,
 "seconds": {$(for k in "${!T[@]}"; do case $k in *.*) continue ;; esac; printf '"%s": %s, ' "$k" "${T[$k]}"; done | sed 's/, $//')},
 "ratios": {"full_vs_rsync": $r_full, "unchanged_vs_rsync_link_dest": $r_unch_rsync, "unchanged_vs_cp_al": $r_unch_cp,
            "mutated_vs_rsync_link_dest": $r_mut, "prune_vs_rm_rf": $r_prune, "mutated_dirty_vs_rsync_link_dest": $r_mut_dirty, "moved_vs_rsync_link_dest": $r_moved},
 "moved_new_bytes": {"keepsake": $k_new, "keepsake_unchanged_snapshot": $k_tree, "keepsake_copied": $k_moved_copied, "rsync_link_dest": $r_new},
 "peak_rss_kib": $peak}
JSON
[ "$keep" = 1 ] && echo "kept $work (bench.json inside)"
exit 0
