#!/usr/bin/env bash
# Backing up to an encrypted drive against the same drive unencrypted, in
# one run on one disk: two ext4 images made alike (mkfs.ext4 -O encrypt,
# same size, loop devices), one with a plain repository, one with an
# encrypted one (keepsakectl --repo DIR init --encrypt: fscrypt v2,
# AES-256-XTS contents, AES-256-CTS names), the same corpus
# (shared/bench/corpus.py) backed up to each: the first backup and an
# unchanged one. Every repetition starts from new filesystems; the order
# of the two drives alternates; the source is read once before, so both
# find it in the page cache. Times include a final sync. After each run
# the encrypted snapshot is compared with the source. Target: encrypted
# <= 1.3x unencrypted. Needs root (loop devices, mount).
#
#   sudo build-aux/bench-encrypt.sh [--files N] [--mb M] [--reps N] [--workdir DIR] [--keep]
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

files=5000 mb=200 reps=3 workdir=/var/tmp keep=0 cold=0
while [ $# -gt 0 ]; do
  case "$1" in
    --files) files=$2; shift ;;
    --mb) mb=$2; shift ;;
    --reps) reps=$2; shift ;;
    --workdir) workdir=$2; shift ;;
    --keep) keep=1 ;;
    *) echo "usage: $0 [--files N] [--mb M] [--reps N] [--workdir DIR] [--keep]" >&2; exit 2 ;;
  esac
  shift
done
if [ "$(id -u)" != 0 ]; then
  echo "bench-encrypt: needs root (loop devices and mount); run it with sudo" >&2
  exit 2
fi
corpus=$(cd "$top/.." && pwd)/shared/bench/corpus.py
[ -f "$corpus" ] || { echo "bench-encrypt: $corpus not found (shared/ must sit beside the checkout)" >&2; exit 1; }

build-aux/deps.sh python3 time bc gcc e2fsprogs util-linux
work=$(mktemp -d "$workdir/keepsake-encrypt.XXXXXX")
loops=()
cleanup() {
  for m in "$work/plain" "$work/encrypted"; do
    if mountpoint -q "$m" 2>/dev/null; then
      [ "$m" = "$work/encrypted" ] && "$work/keepsakectl" --repo "$m" lock >/dev/null 2>&1 || true
      umount "$m" || umount -l "$m" || true
    fi
  done
  for l in "${loops[@]}"; do losetup -d "$l" 2>/dev/null || true; done
  loops=()
  [ "$keep" = 1 ] || rm -rf "$work"
}
trap cleanup EXIT
echo "bench-encrypt: work dir $work ($(df --output=fstype "$work" | tail -1)), $files files, ~$mb MiB, $reps repetitions"
go build -o "$work/keepsakectl" ./service/cmd/keepsakectl

src=$work/src/home
python3 "$corpus" make "$src" --files "$files" --mb "$mb" >/dev/null
size_mb=$(( mb * 3 + 256 ))
printf 'a passphrase for the benchmark\n' >"$work/pass"

# drive NAME: a new ext4 image with the encrypt feature, mounted at
# $work/NAME.
drive() {
  local img=$work/$1.img
  rm -f "$img"
  truncate -s "${size_mb}M" "$img"
  mkfs.ext4 -q -F -O encrypt -L "$1" "$img"
  local dev
  dev=$(losetup -f --show "$img")
  loops+=("$dev")
  mkdir -p "$work/$1"
  mount "$dev" "$work/$1"
}

# unmount both drives and detach their loop devices (each repetition
# starts from new filesystems).
undrive() {
  "$work/keepsakectl" --repo "$work/encrypted" lock >/dev/null
  umount "$work/plain" "$work/encrypted"
  for l in "${loops[@]}"; do losetup -d "$l"; done
  loops=()
}

median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR % 2) ? a[(NR+1)/2] : (a[NR/2] + a[NR/2+1]) / 2}'; }
ratio() { printf "%.2f" "$(echo "$1 / $2" | bc -l)"; }

timed_width=30
. "$top/build-aux/bench-timed.sh"
declare -A runs
for rep in $(seq 1 "$reps"); do
  echo "repetition $rep"
  drive plain
  drive encrypted
  "$work/keepsakectl" --repo "$work/plain" init >/dev/null
  "$work/keepsakectl" --repo "$work/encrypted" init --encrypt --passphrase-file "$work/pass" >/dev/null
  tar -cf - -C "$work/src" . >/dev/null # the source in the page cache for both
  order="plain encrypted"
  [ $((rep % 2)) = 0 ] && order="encrypted plain"
  for phase in first unchanged; do
    for kind in $order; do
      timed "$kind ($phase)" K --repo "$work/$kind" --host bench backup "$src"
      runs[$kind,$phase]+=" ${T[$kind ($phase)]}"
    done
  done
  # The kernel's encryption alone: the same bytes written with dd into
  # each drive (not in the ratios; it says what the filesystem costs).
  for kind in $order; do
    dst=$work/$kind/zero
    [ "$kind" = encrypted ] && dst=$work/$kind/Keepsake/data/zero
    timed "dd $mb MiB ($kind)" dd if=/dev/zero of="$dst" bs=1M count="$mb" conv=fsync
    runs[$kind,dd]+=" ${T[dd $mb MiB ($kind)]}"
    rm -f "$dst"
  done
  # What the encrypted drive holds is the source, name for name, byte
  # for byte; the plain one too.
  for kind in plain encrypted; do
    root=$work/$kind/Keepsake
    [ "$kind" = encrypted ] && root=$root/data
    snap=$(ls -d "$root/bench/2"* | tail -1)
    if ! diff -r "$src" "$snap$src" >/dev/null; then
      echo "bench-encrypt: the $kind snapshot differs from the source" >&2
      exit 1
    fi
  done
  undrive
done

declare -A M
for kind in plain encrypted; do
  for phase in first unchanged dd; do
    # shellcheck disable=SC2086
    M[$kind,$phase]=$(median ${runs[$kind,$phase]})
  done
done
first=$(ratio "${M[encrypted,first]}" "${M[plain,first]}")
unchanged=$(ratio "${M[encrypted,unchanged]}" "${M[plain,unchanged]}")
echo
printf "%-30s %10s %10s %8s %8s\n" "median of $reps (s)" unencrypted encrypted ratio target
printf "%-30s %10.3f %10.3f %8s %8s\n" "first backup" "${M[plain,first]}" "${M[encrypted,first]}" "$first" "<= 1.3"
printf "%-30s %10.3f %10.3f %8s %8s\n" "unchanged backup" "${M[plain,unchanged]}" "${M[encrypted,unchanged]}" "$unchanged" "<= 1.3"
dd=$(ratio "${M[encrypted,dd]}" "${M[plain,dd]}")
printf "%-30s %10.3f %10.3f %8s\n" "dd $mb MiB (the kernel alone)" "${M[plain,dd]}" "${M[encrypted,dd]}" "$dd"
# The kernel's AES-XTS: with AES instructions (xts-aes-aesni, ...) it
# writes at disk speed; the generic one (xts(ecb(aes-fixed-time))) is
# what makes an encrypted drive slow.
xts=$(awk '/^name/ {n=$3} /^driver/ && n=="xts(aes)" {d=$3} /^priority/ && n=="xts(aes)" && $3>p {p=$3; best=d} END {print best}' /proc/crypto)
echo "kernel AES-XTS driver: ${xts:-none}"
cat >"$top/build-aux/bench-encrypt.json" <<JSON
{"files": $files, "mb": $mb, "reps": $reps,
 "first_plain_s": ${M[plain,first]}, "first_encrypted_s": ${M[encrypted,first]}, "first_ratio": $first,
 "unchanged_plain_s": ${M[plain,unchanged]}, "unchanged_encrypted_s": ${M[encrypted,unchanged]}, "unchanged_ratio": $unchanged,
 "dd_plain_s": ${M[plain,dd]}, "dd_encrypted_s": ${M[encrypted,dd]}, "dd_ratio": $dd, "kernel_xts_driver": "${xts:-none}",
 "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')", "aes": $(grep -qw aes /proc/cpuinfo && echo true || echo false)}
JSON
