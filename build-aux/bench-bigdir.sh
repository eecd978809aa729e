#!/usr/bin/env bash
# One folder holding N entries (500 000 by default): Keepsake's first and
# unchanged backups against rsync -a of the same folder, in one run on one
# disk, with Keepsake's peak memory. Targets: time <= 1.0x rsync -a, peak
# RSS <= 100 MB.
#
#   build-aux/bench-bigdir.sh [--entries N] [--workdir DIR] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

entries=500000 workdir=/var/tmp keep=0 cold=0
while [ $# -gt 0 ]; do
  case "$1" in
    --entries) entries=$2; shift ;;
    --workdir) workdir=$2; shift ;;
    --keep) keep=1 ;;
    *) echo "usage: $0 [--entries N] [--workdir DIR] [--keep]" >&2; exit 2 ;;
  esac
  shift
done

build-aux/deps.sh rsync python3 time bc gcc
work=$(mktemp -d "$workdir/keepsake-bigdir.XXXXXX")
[ "$keep" = 1 ] || trap 'rm -rf "$work"' EXIT
echo "bench-bigdir: work dir $work ($(df --output=fstype "$work" | tail -1)), $entries entries in one folder"
go build -o "$work/keepsakectl" ./service/cmd/keepsakectl

# Small files with distinct contents (a mail folder, a cache of thumbnails,
# a build's object files): names of 20-odd bytes, 0-200 bytes each.
src=$work/src/big
python3 - "$src" "$entries" <<'PY'
import os, sys
d, n = sys.argv[1], int(sys.argv[2])
os.makedirs(d)
fd = os.open(d, os.O_RDONLY)
for i in range(n):
    f = os.open("msg-%08d.eml" % i, os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
    os.write(f, (b"%d\n" % i) * (i % 40))
    os.close(f)
os.close(fd)
PY
sync

timed_width=28
. "$top/build-aux/bench-timed.sh"
mkdir -p "$work/rsync" "$work/drive"
"$work/keepsakectl" --repo "$work/drive" init >/dev/null

timed "rsync -a (first)" rsync -a "$work/src/" "$work/rsync/first/"
timed "keepsake (first)" K --repo "$work/drive" --host bench backup "$work/src"
timed "rsync -a --link-dest (unchanged)" rsync -a --link-dest="$work/rsync/first/" "$work/src/" "$work/rsync/second/"
timed "keepsake (unchanged)" K --repo "$work/drive" --host bench backup "$work/src"

# The snapshot must be the folder: every name, every byte.
snap=$(ls -d "$work/drive/Keepsake/bench/2"* | tail -1)
if ! diff -rq "$work/src/big" "$snap$work/src/big" >/dev/null; then
  echo "bench-bigdir: the snapshot differs from the source" >&2; exit 1
fi

ratio() { printf "%.2f" "$(echo "$1 / $2" | bc -l)"; }
first=$(ratio "${T[keepsake (first)]}" "${T[rsync -a (first)]}")
unchanged=$(ratio "${T[keepsake (unchanged)]}" "${T[rsync -a --link-dest (unchanged)]}")
rss_first=$(( ${RSS[keepsake (first)]} / 1024 )) rss_unchanged=$(( ${RSS[keepsake (unchanged)]} / 1024 ))
echo
printf "%-44s %8s %8s\n" figure value target
printf "%-44s %8s %8s\n" "first backup / rsync -a" "$first" "<= 1.0"
printf "%-44s %8s %8s\n" "unchanged backup / rsync -a --link-dest" "$unchanged" "<= 1.0"
printf "%-44s %8s %8s\n" "peak RSS, first backup (MiB)" "$rss_first" "<= 100"
printf "%-44s %8s %8s\n" "peak RSS, unchanged backup (MiB)" "$rss_unchanged" "<= 100"
cat >"$top/build-aux/bench-bigdir.json" <<JSON
{"entries": $entries, "first_vs_rsync": $first, "unchanged_vs_rsync_link_dest": $unchanged, "rss_first_mib": $rss_first, "rss_unchanged_mib": $rss_unchanged}
JSON
