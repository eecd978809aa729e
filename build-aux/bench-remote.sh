#!/usr/bin/env bash
# Benchmarks backing up other computers: `keepsakectl --repo DIR backup
# ssh://...` against plain `rsync -aHAX --numeric-ids --relative
# --link-dest=<previous snapshot>` into dated folders per computer (what
# flashback and rsnapshot do), in one run, over the same ssh (the same
# options and keys), on one fresh ext4 loop-device filesystem (root):
#
#   sudo build-aux/bench-remote.sh [--files N] [--mb M] [--reps N] [--cold] [--first-only] [--workdir DIR] [--keep]
#
# The two "computers" are two sshd instances on 127.0.0.1, each with its
# own account, host keys and port, started here and stopped on exit.
# Computer A's folder is the corpus of shared/bench/corpus.py (--files N,
# default 20 000 files, --mb M, default 400 MiB); computer B's is every
# second file of A's (cp -a: the same content, owner, mode and mtime) plus
# a folder of its own made with another seed (N/2 files, ~M/2 MiB): the
# two share half their files. A's files belong to A's account, B's own to
# B's. Both tools pull as root with root's ssh key and known_hosts, which
# live in a home folder of the benchmark's own, mounted over root's in a
# mount namespace of this script only (ssh reads ~/.ssh from the password
# database, not $HOME); the machine's own ~/.ssh is neither read nor
# changed. Each repetition of the first pulls writes its own folders; the
# first one's stay for the later phases: Keepsake's repository
# DRIVE/keepsake/Keepsake/<computer>/<time>/ and rsync's
# DRIVE/rsync/<computer>/<time>/. The work dir (--workdir, default
# /var/tmp) holds the computers' folders and the drive's sparse image.
#
# Measured (keepsake / rsync):
# (a) the first pull of both computers (A, then B), --reps times (default
#     3), the tools taking turns, each repetition into a fresh folder;
#     the median of the per-pair ratios counts (target <= 1.15);
# (b) an unchanged pull of both, --reps times, the same way (<= 1.15),
#     and, taking turns with them, rsync run with the options Keepsake
#     gives it (to tell what those cost from what Keepsake's own work
#     costs);
# (c) the space on the drive for both computers after the first pulls:
#     `du -s --block-size=1` of each tool's whole folder (hardlinks once,
#     Keepsake's catalog included), and the filesystem's used bytes before
#     and after (df), (<= 0.6); the floor, (A + B's own) / (A + B): what
#     storing each file the two share once, and nothing else, would give,
#     is printed beside it (about 0.75 when they share half: below that
#     only compression goes); and the same du at the end of the run, after
#     the unchanged and moved-folder pulls too;
# (d) after `corpus.py move-big` on A, the new space of A's next pull
#     beyond that of an unchanged pull of A (Keepsake <= 1 MiB; rsync
#     stores the moved folder again), and how much of Keepsake's is the
#     snapshot's files and folders and how much the catalog's rows (a
#     moved folder is placed at its new path there, each folder in it
#     too; its files' versions stay as they are);
# (e) the time of that pull.
# Every time includes a final `sync`: a pull counts when its data is on
# the drive (Keepsake flushes itself; rsync does not). The page cache is
# warm (the corpus is read by the first pulls) unless --cold, which drops
# it before every timed pull of either tool. Keepsake's time is split
# into its rsync's and the rest (indexing, catalog, flush) by a wrapper
# first on its PATH that notes when rsync starts and ends.
#
# Prints a table and writes build-aux/bench-remote.json. --first-only
# stops after (a), with its times printed, to weigh a change to a first
# pull quickly (at 100 000 files, a minute instead of seven).
set -euo pipefail
self=$(readlink -f "$0")
cd "$(dirname "$self")/.."
top=$PWD

files=20000 mb=400 reps=3 workdir=/var/tmp keep=0 cold=0 first_only=0
usage() { echo "usage: $0 [--files N] [--mb M] [--reps N] [--cold] [--first-only] [--workdir DIR] [--keep]"; }
args=("$@")
while [ $# -gt 0 ]; do
  case "$1" in
    --files) files=$2; shift ;;
    --mb) mb=$2; shift ;;
    --reps) reps=$2; shift ;;
    --workdir) workdir=$2; shift ;;
    --keep) keep=1 ;;
    --cold) cold=1 ;;
    --first-only) first_only=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
  shift
done
if [ "$(id -u)" -ne 0 ]; then
  echo "bench-remote: run as root: it adds accounts, runs sshd and makes a loop device" >&2
  exit 1
fi

# Run again in a mount namespace of our own: root's home is replaced
# there (and only there) by the benchmark's, for ssh's keys.
if [ -z "${KEEPSAKE_BENCH_REMOTE_NS:-}" ]; then
  build-aux/deps.sh rsync openssh-server openssh-client python3 time bc e2fsprogs util-linux mount passwd procps
  export KEEPSAKE_BENCH_REMOTE_NS=1
  exec unshare --mount --propagation private -- "$self" "${args[@]}"
fi

corpus=$(cd "$top/.." && pwd)/shared/bench/corpus.py
[ -f "$corpus" ] || { echo "bench-remote: $corpus not found (shared/ must sit beside the checkout)" >&2; exit 1; }
umask 022

work=$(mktemp -d "$workdir/keepsake-bench-remote.XXXXXX")
chmod 755 "$work" # the computers' accounts read their folders below it
sshd_pids=() accounts=() loop= drive=$work/drive roothome=
finish() {
  local rc=$? pid kid u
  trap - EXIT INT TERM
  # Each sshd, and whatever its logins still run, by process id.
  for pid in "${sshd_pids[@]}"; do
    for kid in $(pgrep -P "$pid" 2>/dev/null); do kill "$kid" 2>/dev/null || true; done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
  done
  for u in "${accounts[@]}"; do userdel -f -r "$u" >/dev/null 2>&1 || true; done
  if mountpoint -q "$drive"; then umount "$drive" || umount -l "$drive" || true; fi
  if [ -n "$roothome" ] && mountpoint -q "$roothome"; then umount "$roothome" || true; fi
  if [ -n "$loop" ]; then losetup -d "$loop" 2>/dev/null || true; fi
  if [ "$keep" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
  exit "$rc"
}
trap finish EXIT
trap 'exit 130' INT TERM

echo "bench-remote: work dir $work ($(df --output=fstype "$work" | tail -1)), computer A: $files files, ~$mb MiB"
go build -o "$work/keepsakectl" ./service/cmd/keepsakectl
K() { "$work/keepsakectl" "$@"; }

# Root's ssh: a fresh key and known_hosts in a home mounted over root's.
install -d -m 700 "$work/home" "$work/home/.ssh"
ssh-keygen -q -t ed25519 -N '' -C keepsake-bench -f "$work/home/.ssh/id_ed25519"
home=$(getent passwd root | cut -d: -f6)
mount --bind "$work/home" "$home"
roothome=$home # unmounted on exit

# start_sshd NAME: an account ksb<NAME><pid> that accepts root's key, and
# sshd for it alone on a free port of 127.0.0.1; the port goes to
# PORT[NAME], the account to ACCOUNT[NAME], the host key to known_hosts.
declare -A PORT ACCOUNT
mkdir -p /run/sshd
start_sshd() {
  local name=$1 u="ksb$1$$" d=$work/sshd-$1 port pid i
  useradd -m -p '*' -s /bin/sh -c "Keepsake benchmark computer $name" "$u"
  accounts+=("$u")
  local home; home=$(getent passwd "$u" | cut -d: -f6)
  install -d -m 700 -o "$u" -g "$u" "$home/.ssh"
  install -m 600 -o "$u" -g "$u" "$work/home/.ssh/id_ed25519.pub" "$home/.ssh/authorized_keys"
  mkdir -p "$d"
  ssh-keygen -q -t ed25519 -N '' -C '' -f "$d/ssh_host_ed25519_key"
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat > "$d/sshd_config" <<EOF
# Keepsake benchmark: computer $name
Port $port
ListenAddress 127.0.0.1
AddressFamily inet
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
UsePAM no
AuthorizedKeysFile .ssh/authorized_keys
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
AllowUsers $u
AllowTcpForwarding no
X11Forwarding no
PrintMotd no
UseDNS no
MaxStartups 64
EOF
  /usr/sbin/sshd -D -e -f "$d/sshd_config" >"$d/log" 2>&1 &
  pid=$!
  sshd_pids+=("$pid")
  for i in $(seq 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
    kill -0 "$pid" 2>/dev/null || { echo "bench-remote: sshd for $name exited:"; cat "$d/log"; exit 1; }
    sleep 0.1
  done
  echo "[127.0.0.1]:$port $(cut -d' ' -f1,2 "$d/ssh_host_ed25519_key.pub")" >> "$work/home/.ssh/known_hosts"
  PORT[$name]=$port ACCOUNT[$name]=$u
}
start_sshd a
start_sshd b

# The ssh command Keepsake gives rsync (service/remote's sshCommand, with
# the user's own keys and known_hosts), for plain rsync too.
ssh_cmd() {
  echo "ssh -p $1 -o BatchMode=yes -o StrictHostKeyChecking=yes -o ConnectTimeout=30 -o ServerAliveInterval=15" \
    "-o ServerAliveCountMax=4 -o ControlMaster=no -o ControlPath=none -o ForwardAgent=no -o ForwardX11=no" \
    "-o ClearAllForwardings=yes -o PermitLocalCommand=no -o RequestTTY=no"
}
for c in a b; do
  $(ssh_cmd "${PORT[$c]}") "${ACCOUNT[$c]}@127.0.0.1" true ||
    { echo "bench-remote: cannot log in to computer $c"; cat "$work/sshd-$c/log"; exit 1; }
done

echo "== making the computers' folders"
declare -A SRC=([a]=$work/a/home [b]=$work/b/home)
mkdir -p "$work/a" "$work/b"
python3 "$corpus" make "${SRC[a]}" --files "$files" --mb "$mb" >/dev/null
chown -R "${ACCOUNT[a]}:${ACCOUNT[a]}" "${SRC[a]}"
# B: every second file of A's, as cp -a copies them, and its own folder.
mkdir -p "${SRC[b]}"
(cd "${SRC[a]}" && find . -type f -print0 | sort -z | awk 'BEGIN {RS = ORS = "\0"} NR % 2 == 1' |
  xargs -0 cp -a --parents -t "${SRC[b]}")
python3 "$corpus" make "${SRC[b]}/own" --files $((files / 2)) --mb $((mb / 2)) --seed 2 >/dev/null
chown -R "${ACCOUNT[b]}:${ACCOUNT[b]}" "${SRC[b]}/own"
chown "${ACCOUNT[b]}:${ACCOUNT[b]}" "${SRC[b]}"
space() { du -s --block-size=1 "$@" | awk '{s += $1} END {printf "%.0f\n", s}'; }
src_a=$(space "${SRC[a]}") src_b=$(space "${SRC[b]}") src_b_own=$(space "${SRC[b]}/own")
nfiles_a=$(find "${SRC[a]}" -type f | wc -l) nfiles_b=$(find "${SRC[b]}" -type f | wc -l)
shared_b=$(space "${SRC[b]}" --exclude=own)
echo "  A: $nfiles_a files, $src_a bytes; B: $nfiles_b files, $src_b bytes ($shared_b of them A's files)"

# The drive: room for every repetition of the first pulls at once.
# Each tool keeps A and B's own files (about 3/4 of A + B, blocks
# counted) per repetition, and rsync the moved folder again.
drive_mb=$(( (src_a + src_b) * (3 * reps + 2) / 2 * 6 / 5 >> 20 ))
[ "$drive_mb" -gt $((mb * 12 > 1024 ? mb * 12 : 1024)) ] || drive_mb=$((mb * 12 > 1024 ? mb * 12 : 1024))
# And inodes for them: each repetition keeps A's and B's files once per
# tool (1.5 files of A's each), their folders, and the later pulls' new
# files (many small files run out of ext4's default of one per 16 KiB).
inodes=$(( files * (3 * reps + 2) ))
[ "$inodes" -gt $(( drive_mb * 64 )) ] || inodes=$(( drive_mb * 64 ))
truncate -s "${drive_mb}M" "$work/drive.img"
mkfs.ext4 -q -F -N "$inodes" -L KeepsakeBench "$work/drive.img"
loop=$(losetup -f --show "$work/drive.img")
mkdir -p "$drive"
mount "$loop" "$drive"
echo "  drive: $drive_mb MB ext4 on $loop"
sync

timed_width=24
. "$top/build-aux/bench-timed.sh"

# Keepsake finds rsync on its PATH: a wrapper first on it notes when the
# transfer starts and ends, to split a pull's time into rsync's and the
# rest (indexing the pulled tree, the catalog, the final flush). It costs
# a shell and two dates, a few milliseconds, which count against Keepsake.
mkdir -p "$work/wrap"
cat > "$work/wrap/rsync" <<EOF
#!/bin/sh
s=\$(date +%s.%N)
$(command -v rsync) "\$@"
rc=\$?
echo "\$s \$(date +%s.%N)" >> "$work/rsync-times"
exit \$rc
EOF
chmod 755 "$work/wrap/rsync"
declare -A X
# kpull NAME STORE COMPUTER: Keepsake pulls the computer into STORE; the
# time its rsync ran goes to X[NAME].
kpull() {
  : > "$work/rsync-times"
  PATH=$work/wrap:$PATH timed "$1" K --repo "$2" --host "$3" --json backup "ssh://${ACCOUNT[$3]}@127.0.0.1:${PORT[$3]}${SRC[$3]}"
  X[$1]=$(awk '{s += $2 - $1} END {printf "%.6f\n", s}' "$work/rsync-times")
  printf '  %-24s %8.3f s of it rsync\n' "" "${X[$1]}"
}
# rpull NAME STORE COMPUTER: rsync pulls it into a new dated folder of
# STORE/COMPUTER, linking unchanged files from the previous one there.
declare -A RPREV
rpull() {
  local dir=$2/$3 prev=${RPREV[$2/$3]:-} name
  mkdir -p "$dir"
  name=$(date -u +%Y-%m-%dT%H%M%S.%3NZ)
  timed "$1" rsync -aHAX --numeric-ids --relative ${prev:+--link-dest="$prev"} -e "$(ssh_cmd "${PORT[$3]}")" \
    "${ACCOUNT[$3]}@127.0.0.1:${SRC[$3]}" "$dir/$name/"
  RPREV[$2/$3]=$dir/$name
}
# xpull NAME STORE COMPUTER: rsync run as Keepsake runs it (the options
# of rsyncArgs in service/remote/pull.go for a plain path: numbers, not
# names, sparse files, times to the nanosecond, progress and figures
# printed, a line for each file received), linking from the newest
# folder of rsync's own series (the same files), into a new folder of
# STORE/COMPUTER. It tells the cost of those options from the cost of
# Keepsake's own work.
xpull() {
  local dir=$2/$3 name
  mkdir -p "$dir"
  name=$(date -u +%Y-%m-%dT%H%M%S.%3NZ)
  timed "$1" rsync -a -r -H --sparse --numeric-ids --relative --no-D --modify-window=-1 --info=progress2,stats2 "--out-format=KSR:%i %b %n" \
    --no-human-readable -e "$(ssh_cmd "${PORT[$3]}")" -A -X \
    --link-dest="${RPREV[$drive/rsync/$3]}" -- "${ACCOUNT[$3]}@127.0.0.1:${SRC[$3]}" "$dir/$name/"
}
# both BASE REP TOOL STORE: TOOL (kpull or rpull) pulls A, then B, into
# STORE: times in T[BASE_a.REP], T[BASE_b.REP] and their sum T[BASE.REP].
both() {
  "$3" "${1}_a.$2" "$4" a
  "$3" "${1}_b.$2" "$4" b
  T[$1.$2]=$(printf "%.6f" "$(echo "${T[${1}_a.$2]} + ${T[${1}_b.$2]}" | bc -l)")
  if [ "$3" = kpull ]; then X[$1.$2]=$(printf "%.6f" "$(echo "${X[${1}_a.$2]} + ${X[${1}_b.$2]}" | bc -l)"); fi
}
used() { sync; df --output=used -B1 "$drive" | tail -1 | tr -d ' '; }
# catalog STORE: the bytes of Keepsake's catalog files.
catalog() { du -c --block-size=1 "$1"/Keepsake/catalog.db* | tail -1 | cut -f1; }
# median NAME: the median of T[NAME.1..reps] into T[NAME] (and of X).
median() {
  local i
  T[$1]=$(for i in $(seq 1 "$reps"); do echo "${T[$1.$i]}"; done | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  if [ -n "${X[$1.1]:-}" ]; then
    X[$1]=$(for i in $(seq 1 "$reps"); do echo "${X[$1.$i]}"; done | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}')
  fi
}
# Always with a leading zero: bc prints ".746", which JSON cannot hold.
ratio() { printf '%.3f\n' "$(echo "scale=6; $1 / $2" | bc -l)"; }
# pairratio A B: the median over the repetitions of A.i / B.i; each pair
# ran back to back, so a disk that slows down for a minute cancels out.
pairratio() {
  local i
  for i in $(seq 1 "$reps"); do ratio "${T[$1.$i]}" "${T[$2.$i]}"; done | sort -n | awk '{a[NR] = $1} END {print a[int((NR + 1) / 2)]}'
}
verdict() { if [ "$(echo "$1 <= $2" | bc -l)" = 1 ]; then echo PASS; else echo SHORT; fi; }
# jget NAME KEY: KEY of the JSON result keepsakectl printed for NAME.
jget() { tail -1 "$work/out.$1" | python3 -c 'import json, sys; print(json.load(sys.stdin).get(sys.argv[1], 0))' "$2"; }

echo "== first pulls of both computers, $reps times"
declare -A DF
for i in $(seq 1 "$reps"); do
  mkdir -p "$drive/k$i"
  K --repo "$drive/k$i" init >/dev/null
  # The tools take turns going first.
  for tool in $( [ $((i % 2)) = 1 ] && echo k r || echo r k); do
    u0=$(used)
    if [ "$tool" = k ]; then both k_first "$i" kpull "$drive/k$i"; else both r_first "$i" rpull "$drive/r$i"; fi
    if [ "$i" = 1 ]; then DF[$tool]=$(( $(used) - u0 )); fi
  done
  # Only the first repetition's folders stay for the next phases.
  if [ "$i" -gt 1 ]; then
    rm -rf "$drive/k$i" "$drive/r$i"
    sync; sleep 2 # let the filesystem finish freeing them before timing again
  fi
done
# Both sides of a pull hold what they should.
for c in a b; do
  n=$(find "$drive/k1/Keepsake/$c/latest/${SRC[$c]}" -type f | wc -l)
  m=$(find "${RPREV[$drive/r1/$c]}/${SRC[$c]}" -type f | wc -l)
  src_n=$(find "${SRC[$c]}" -type f | wc -l)
  [ "$n" = "$src_n" ] && [ "$m" = "$src_n" ] ||
    { echo "bench-remote: computer $c has $src_n files, Keepsake's snapshot $n, rsync's $m" >&2; exit 1; }
done
for t in k_first k_first_a k_first_b r_first r_first_a r_first_b; do median "$t"; done
# --first-only: (a) alone, its times printed above, no table.
[ "$first_only" = 0 ] || exit 0
mv "$drive/k1" "$drive/keepsake"
mv "$drive/r1" "$drive/rsync"
for c in a b; do RPREV[$drive/rsync/$c]=$drive/rsync/$c/$(basename "${RPREV[$drive/r1/$c]}"); done
k_du=$(space "$drive/keepsake") r_du=$(space "$drive/rsync") k_catalog=$(catalog "$drive/keepsake")

echo "== unchanged pulls of both computers, $reps times"
# Three take turns: Keepsake, rsync, and rsync with Keepsake's options.
order=(k r x)
for i in $(seq 1 "$reps"); do
  for j in 0 1 2; do
    tool=${order[$(( (i - 1 + j) % 3 ))]}
    if [ "$tool" = x ]; then both x_unch "$i" xpull "$drive/rsync-k"; continue; fi
    if [ "$i" -lt "$reps" ]; then
      if [ "$tool" = k ]; then both k_unch "$i" kpull "$drive/keepsake"; else both r_unch "$i" rpull "$drive/rsync"; fi
      continue
    fi
    # The last time, what an unchanged pull of A adds to the drive: the
    # floor the moved-folder pull is compared to.
    if [ "$tool" = k ]; then
      s0=$(space "$drive/keepsake") c0=$(catalog "$drive/keepsake")
      kpull "k_unch_a.$i" "$drive/keepsake" a
      k_unch_new=$(( $(space "$drive/keepsake") - s0 )) k_unch_cat=$(( $(catalog "$drive/keepsake") - c0 ))
      kpull "k_unch_b.$i" "$drive/keepsake" b
      T[k_unch.$i]=$(printf "%.6f" "$(echo "${T[k_unch_a.$i]} + ${T[k_unch_b.$i]}" | bc -l)")
      X[k_unch.$i]=$(printf "%.6f" "$(echo "${X[k_unch_a.$i]} + ${X[k_unch_b.$i]}" | bc -l)")
    else
      s0=$(space "$drive/rsync")
      rpull "r_unch_a.$i" "$drive/rsync" a
      r_unch_new=$(( $(space "$drive/rsync") - s0 ))
      rpull "r_unch_b.$i" "$drive/rsync" b
      T[r_unch.$i]=$(printf "%.6f" "$(echo "${T[r_unch_a.$i]} + ${T[r_unch_b.$i]}" | bc -l)")
    fi
  done
done
for t in k_unch k_unch_a k_unch_b r_unch r_unch_a r_unch_b x_unch; do median "$t"; done

echo "== computer A's biggest folder moved"
python3 "$corpus" move-big "${SRC[a]}" | sed 's/^/  /'
s0=$(space "$drive/keepsake") c0=$(catalog "$drive/keepsake")
kpull k_moved "$drive/keepsake" a
k_moved_new=$(( $(space "$drive/keepsake") - s0 )) k_moved_cat=$(( $(catalog "$drive/keepsake") - c0 ))
k_moved_copied=$(jget k_moved copied_bytes) k_moved_received=$(jget k_moved received_bytes)
s0=$(space "$drive/rsync")
rpull r_moved "$drive/rsync" a
r_moved_new=$(( $(space "$drive/rsync") - s0 ))
# Keepsake's new space in two parts: the snapshot's files and folders,
# and the catalog's rows (the moved folders' new paths and placements).
k_beyond_files=$(( (k_moved_new - k_moved_cat) - (k_unch_new - k_unch_cat) ))
k_beyond=$((k_moved_new - k_unch_new)) r_beyond=$((r_moved_new - r_unch_new))
# Everything each tool keeps for the two computers at the end of the run:
# the first pulls, the unchanged ones and the moved folder's.
k_end=$(space "$drive/keepsake") r_end=$(space "$drive/rsync")

peak=0
for k in "${!RSS[@]}"; do [ "${RSS[$k]:-0}" -gt "$peak" ] && peak=${RSS[$k]}; done
r_first=$(pairratio k_first r_first) r_first_a=$(pairratio k_first_a r_first_a) r_first_b=$(pairratio k_first_b r_first_b)
r_unch=$(pairratio k_unch r_unch) r_xunch=$(pairratio x_unch r_unch)
r_space=$(ratio "$k_du" "$r_du")
r_space_end=$(ratio "$k_end" "$r_end")
r_df=$(ratio "${DF[k]}" "${DF[r]}")
# What storing every file A and B share once, and nothing else, gives.
floor=$(ratio "$((src_a + src_b_own))" "$((src_a + src_b))")
r_moved=$(ratio "${T[k_moved]}" "${T[r_moved]}")

echo
echo "Keepsake vs rsync -aHAX --link-dest over ssh: 2 computers on 127.0.0.1, A $nfiles_a files ($src_a bytes),"
echo "B $nfiles_b files ($src_b bytes, $shared_b of them A's); $([ "$cold" = 1 ] && echo "page cache dropped before every pull" || echo "warm page cache"); times include a final sync"
echo "(times: medians of $reps; time ratios: the median of the $reps per-pair ratios)"
printf '%-36s %14s %14s %8s  %s\n' phase keepsake rsync ratio target
printf '%-36s %14.3f %14.3f %8s  %s\n' "(a) first pull, A + B (s)" "${T[k_first]}" "${T[r_first]}" "$r_first" "<= 1.15 $(verdict "$r_first" 1.15)"
printf '%-36s %14.3f %14.3f %8s\n' "    A (s)" "${T[k_first_a]}" "${T[r_first_a]}" "$r_first_a"
printf '%-36s %14.3f %14.3f %8s\n' "    B, half of it already stored (s)" "${T[k_first_b]}" "${T[r_first_b]}" "$r_first_b"
printf '%-36s %14.3f %14s\n' "    Keepsake: its rsync, A + B (s)" "${X[k_first]}" ""
printf '%-36s %14.3f %14.3f %8s  %s\n' "(b) unchanged pull, A + B (s)" "${T[k_unch]}" "${T[r_unch]}" "$r_unch" "<= 1.15 $(verdict "$r_unch" 1.15)"
printf '%-36s %14.3f %14s\n' "    Keepsake: its rsync, A + B (s)" "${X[k_unch]}" ""
printf '%-36s %14.3f %14.3f %8s\n' "    rsync with Keepsake's options (s)" "${T[x_unch]}" "${T[r_unch]}" "$r_xunch"
printf '%-36s %14s %14s %8s  %s\n' "(c) space after first pulls (du)" "$k_du" "$r_du" "$r_space" "<= 0.6 $(verdict "$r_space" 0.6) (floor $floor)"
printf '%-36s %14s %14s %8s\n' "    df used-bytes delta" "${DF[k]}" "${DF[r]}" "$r_df"
printf '%-36s %14s %14s %8s  %s\n' "    at the end of the run (du)" "$k_end" "$r_end" "$r_space_end" "<= 0.6 $(verdict "$r_space_end" 0.6)"
printf '%-36s %14s %14s\n' "    of which Keepsake's catalog" "$k_catalog" ""
printf '%-36s %14s %14s\n' "(d) unchanged pull of A, new space" "$k_unch_new" "$r_unch_new"
printf '%-36s %14s %14s\n' "    moved-folder pull of A, new space" "$k_moved_new" "$r_moved_new"
printf '%-36s %14s %14s %8s  %s\n' "    beyond an unchanged pull" "$k_beyond" "$r_beyond" "" "keepsake <= 1048576 $(verdict "$k_beyond" 1048576)"
printf '%-36s %14s %14s %8s  %s\n' "      of it files and folders" "$k_beyond_files" "$r_beyond" "" "keepsake <= 1048576 $(verdict "$k_beyond_files" 1048576)"
printf '%-36s %14s %14s\n' "      of it catalog rows" "$((k_beyond - k_beyond_files))" ""
printf '%-36s %14s %14s\n' "    Keepsake: received / kept" "$k_moved_received/$k_moved_copied" ""
printf '%-36s %14.3f %14.3f %8s\n' "(e) moved-folder pull of A (s)" "${T[k_moved]}" "${T[r_moved]}" "$r_moved"
printf '%-36s %14.3f %14s\n' "    Keepsake: its rsync (s)" "${X[k_moved]}" ""
printf '%-36s %14s\n' "peak RSS keepsakectl (KiB)" "$peak"

jlist() { local i; for i in $(seq 1 "$reps"); do printf '%s%s' "$([ "$i" -gt 1 ] && echo ', ')" "${T[$1.$i]}"; done; }
jlistx() { local i; for i in $(seq 1 "$reps"); do printf '%s%s' "$([ "$i" -gt 1 ] && echo ', ')" "${X[$1.$i]}"; done; }
cat > build-aux/bench-remote.json <<JSON
{"files_a": $nfiles_a, "files_b": $nfiles_b, "bytes_a": $src_a, "bytes_b": $src_b, "bytes_b_shared": $shared_b,
 "mb": $mb, "reps": $reps, "cold": $cold,
 "seconds": {"keepsake_first": [$(jlist k_first)], "rsync_first": [$(jlist r_first)],
             "keepsake_first_a": [$(jlist k_first_a)], "rsync_first_a": [$(jlist r_first_a)],
             "keepsake_first_b": [$(jlist k_first_b)], "rsync_first_b": [$(jlist r_first_b)],
             "keepsake_unchanged": [$(jlist k_unch)], "rsync_unchanged": [$(jlist r_unch)],
             "rsync_keepsake_options_unchanged": [$(jlist x_unch)],
             "keepsake_moved": ${T[k_moved]}, "rsync_moved": ${T[r_moved]},
             "keepsake_rsync_first": [$(jlistx k_first)], "keepsake_rsync_unchanged": [$(jlistx k_unch)],
             "keepsake_rsync_moved": ${X[k_moved]}},
 "ratios": {"first": $r_first, "first_a": $r_first_a, "first_b": $r_first_b, "unchanged": $r_unch,
            "unchanged_rsync_keepsake_options": $r_xunch,
            "space_du": $r_space, "space_df": $r_df, "space_end": $r_space_end, "space_floor": $floor, "moved_time": $r_moved},
 "space_bytes": {"keepsake_du": $k_du, "rsync_du": $r_du, "keepsake_df": ${DF[k]}, "rsync_df": ${DF[r]},
                 "keepsake_catalog": $k_catalog, "keepsake_end": $k_end, "rsync_end": $r_end},
 "moved_new_bytes": {"keepsake": $k_moved_new, "rsync": $r_moved_new, "keepsake_unchanged": $k_unch_new,
                     "rsync_unchanged": $r_unch_new, "keepsake_beyond_unchanged": $k_beyond, "rsync_beyond_unchanged": $r_beyond,
                     "keepsake_beyond_unchanged_files": $k_beyond_files,
                     "keepsake_catalog_unchanged": $k_unch_cat, "keepsake_catalog_moved": $k_moved_cat,
                     "keepsake_received": $k_moved_received, "keepsake_copied": $k_moved_copied},
 "peak_rss_kib": $peak}
JSON
python3 -m json.tool build-aux/bench-remote.json >/dev/null
echo "wrote build-aux/bench-remote.json"
