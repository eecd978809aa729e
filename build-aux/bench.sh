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
go build -o "$work/keepsakectl" ./service/cmd/keepsakectl
K() { "$work/keepsakectl" "$@"; }

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
    timed rsync_full.$i rsync -a "$src/" "$work/r/full$i/"
  else
    timed rsync_full.$i rsync -a "$src/" "$work/r/full$i/"
    timed k_full.$i K --repo "$work/k$i" --host bench backup "$src"
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
  [ $((i % 2)) = 1 ] && timed rsync_unchanged.$i rsync -a --link-dest="$work/r/1" "$src/" "$work/r/unchanged$i/"
  timed cpal_unchanged.$i cp -al "$work/r/1" "$work/r/cpal$i"
done
median k_unchanged; median rsync_unchanged; median cpal_unchanged
mv "$work/r/unchanged1" "$work/r/2"

echo "== 1% mutated incremental"
# A second repository in the same state, for the dirty-directory run.
cp -a "$work/k" "$work/k2"
touch "$work/marker"; sleep 1
python3 "$corpus" mutate "$src" --pct 1 >/dev/null
# What the service's watcher would report: directories whose entries
# changed, and the parents of files written in place.
{ find "$src" -type d -newer "$work/marker"; find "$src" -type f -newer "$work/marker" -printf '%h\n'; } | sort -u > "$work/changed-dirs"
echo "  ($(wc -l < "$work/changed-dirs") changed directories)"
timed k_mutated K --repo "$work/k" --host bench backup "$src"
timed k_mutated_dirty K --repo "$work/k2" --host bench backup --changed-dirs "$work/changed-dirs" "$src"
timed rsync_mutated rsync -a --link-dest="$work/r/2" "$src/" "$work/r/3/"

echo "== moved big folder"
python3 "$corpus" move-big "$src" >/dev/null
k_before=$(space "$work/k/Keepsake")
r_before=$(space "$work/r")
timed k_moved K --repo "$work/k" --host bench --json backup "$src"
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
