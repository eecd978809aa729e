# Sourced by build-aux/run.sh and build-aux/bench-service.sh (root only):
# runs keepsaked for real, on a private system bus, against a loop-device
# "USB drive", and takes it all down again.
#
#   . build-aux/private-bus.sh
#   ks_bus_start                     # private dbus-daemon; exports DBUS_SYSTEM_BUS_ADDRESS
#   ks_polkit_start [RULES] || true  # polkitd on it, with data/'s polkit actions
#   ks_udevd                         # systemd-udevd, when it is not running
#   ks_drive_make IMG LABEL MB [FS]  # ext4 (or btrfs) image on a loop device: KS_LOOP, KS_UUID
#   ks_daemon_start BIN DIR [ARGS]   # keepsaked with config, state and run dirs in DIR
#   ks_cleanup                       # everything above, stopped and removed (idempotent)
#
# The bus is configured like a distribution's system bus (Debian's
# system.conf defaults) and includes the repository's
# data/io.github.keepsake.Keepsake1.conf, so the shipped policy is what
# runs, plus polkit's installed bus policy. It is the same configuration as
# service/internal/bustest's. Only what these functions started is stopped:
# other buses, daemons and loop devices on the machine are left alone, and
# so is a systemd-udevd started here (it is the machine's, others use it).

KS_TOP=${KS_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
KS_BUS_DIR= KS_BUS_PID= KS_POLKIT_PID= KS_DAEMON_PID= KS_LOOP= KS_IMG= KS_UUID= KS_RUN_DIR=
KS_POLKITD=/usr/lib/polkit-1/polkitd
KS_NAME=io.github.keepsake.Keepsake1

ks_log() { echo "keepsake: $*" >&2; }

# ks_wait_for SECONDS CMD...: run CMD every 0.1 s until it succeeds.
ks_wait_for() {
  local deadline=$((SECONDS + $1)); shift
  until "$@" >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || return 1
    sleep 0.1
  done
}

# ks_alive PID: the process exists and is not a zombie.
ks_alive() {
  [ -n "$1" ] && [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null
}

# ks_stop PID [SECONDS]: SIGTERM, then SIGKILL if still there after SECONDS.
ks_stop() {
  local pid=$1 wait=${2:-5} i
  ks_alive "$pid" || return 0
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < wait * 10; i++)); do
    ks_alive "$pid" || break
    sleep 0.1
  done
  if ks_alive "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
  wait "$pid" 2>/dev/null || true
}

ks_bus_start() {
  # Its own short, world-searchable folder: other users must reach the
  # socket, and unix socket paths are limited to 108 bytes.
  KS_BUS_DIR=$(mktemp -d "${TMPDIR:-/tmp}/keepsake-bus.XXXXXX")
  chmod 755 "$KS_BUS_DIR"
  local sock=$KS_BUS_DIR/system_bus_socket
  mkdir -p "$KS_BUS_DIR/services"
  sed -e "s|@SOCKET@|$sock|" -e "s|@SERVICEDIR@|$KS_BUS_DIR/services|" \
    -e "s|@KEEPSAKE_POLICY@|$KS_TOP/data/io.github.keepsake.Keepsake1.conf|" \
    "$KS_TOP/build-aux/private-system-bus.conf.in" > "$KS_BUS_DIR/bus.conf"
  KS_BUS_PID=$(dbus-daemon --config-file="$KS_BUS_DIR/bus.conf" --fork --print-pid) || {
    ks_log "dbus-daemon did not start"; return 1; }
  export DBUS_SYSTEM_BUS_ADDRESS=unix:path=$sock
  ks_wait_for 10 test -S "$sock" || { ks_log "dbus-daemon did not listen on $sock"; return 1; }
}

# ks_polkit_start [RULES]: polkitd on the private bus, in its own mount
# namespace where data/io.github.keepsake.keepsake1.policy is the only
# action file (the machine's may not list Keepsake's actions) and the rules
# folder holds only RULES (JavaScript, optional); the distribution's
# default rules still apply. Nothing outside the namespace changes. Returns
# 1, and the service then lets only root in, when polkitd cannot run here.
ks_polkit_start() {
  if [ ! -x "$KS_POLKITD" ] || ! command -v unshare >/dev/null; then
    ks_log "polkitd is not installed: only root may use the service"
    return 1
  fi
  local p=$KS_BUS_DIR/polkit
  mkdir -p "$p/actions" "$p/rules.d"
  chmod 755 "$p" "$p/actions" "$p/rules.d" # polkitd drops to its own user
  cp "$KS_TOP/data/io.github.keepsake.keepsake1.policy" "$p/actions/"
  if [ -n "${1:-}" ]; then printf '%s\n' "$1" > "$p/rules.d/49-keepsake-demo.rules"; fi
  # unshare, sh and polkitd exec each other: $! ends up being polkitd.
  unshare --mount --propagation private -- sh -c \
    'mount --bind "$1" /usr/share/polkit-1/actions && mount --bind "$2" /etc/polkit-1/rules.d && exec "$3" --no-debug' \
    sh "$p/actions" "$p/rules.d" "$KS_POLKITD" >"$KS_BUS_DIR/polkitd.log" 2>&1 &
  KS_POLKIT_PID=$!
  if ! ks_wait_for 10 busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property org.freedesktop.PolicyKit1 \
      /org/freedesktop/PolicyKit1/Authority org.freedesktop.PolicyKit1.Authority BackendName; then
    ks_log "polkitd did not answer on the bus (log: $(tail -3 "$KS_BUS_DIR/polkitd.log" | tr '\n' ' '))"
    ks_stop "$KS_POLKIT_PID"; KS_POLKIT_PID=
    return 1
  fi
}

# ks_udevd: the service learns about drives from udev. A control socket
# left by a killed udevd does not count: udevd must answer a ping.
ks_udevd() {
  udevadm control --ping --timeout=5 >/dev/null 2>&1 && return 0
  rm -f /run/udev/control
  local bin
  for bin in /lib/systemd/systemd-udevd /usr/lib/systemd/systemd-udevd; do
    [ -x "$bin" ] && break
  done
  ks_log "starting $bin (it stays running: it is the machine's udev)"
  "$bin" --daemon >/dev/null 2>&1 || true # another may have won the race
  ks_wait_for 10 udevadm control --ping --timeout=1 || { ks_log "systemd-udevd did not start"; return 1; }
  udevadm settle --timeout=10 || true
}

# ks_drive_make IMG LABEL MB [FS]: a sparse image with an ext4 (or FS:
# btrfs) filesystem on a loop device, seen by udev like a plugged-in
# drive. Sets KS_IMG, KS_LOOP and KS_UUID.
ks_drive_make() {
  KS_IMG=$1
  rm -f "$KS_IMG"
  truncate -s "${3}M" "$KS_IMG"
  case "${4:-ext4}" in
    ext4) mkfs.ext4 -q -F -L "$2" "$KS_IMG" ;;
    btrfs) mkfs.btrfs -q -f -L "$2" "$KS_IMG" >/dev/null ;;
    *) ks_log "ks_drive_make: no filesystem $4"; return 1 ;;
  esac
  KS_UUID=$(blkid -s UUID -o value "$KS_IMG")
  KS_LOOP=$(losetup -f --show "$KS_IMG")
  udevadm settle --timeout=10 || true
}

# ks_daemon_start BIN DIR [ARGS]: keepsaked with DIR/etc/keepsake.conf,
# DIR/state and DIR/run, logging to DIR/keepsaked.log; returns once it
# answers on the bus.
ks_daemon_start() {
  local bin=$1 dir=$2; shift 2
  mkdir -p "$dir/etc"
  KS_RUN_DIR=$dir/run
  "$bin" --config "$dir/etc/keepsake.conf" --state-dir "$dir/state" --run-dir "$KS_RUN_DIR" "$@" \
    >>"$dir/keepsaked.log" 2>&1 &
  KS_DAEMON_PID=$!
  local deadline=$((SECONDS + 15))
  until busctl --address="$DBUS_SYSTEM_BUS_ADDRESS" get-property "$KS_NAME" /io/github/keepsake/Keepsake1/Manager \
      "$KS_NAME.Manager" Version >/dev/null 2>&1; do
    if ! ks_alive "$KS_DAEMON_PID" || [ "$SECONDS" -ge "$deadline" ]; then
      ks_log "keepsaked did not come up; its log:"; sed 's/^/  /' "$dir/keepsaked.log" >&2
      return 1
    fi
    sleep 0.1
  done
}

# ks_cleanup: stops keepsaked, unmounts whatever is still mounted from the
# loop device or under the run directory (keepsaked leaves a drive it
# mounted for browsing mounted when it stops), detaches the loop device,
# and stops polkitd and the bus. Safe to call more than once.
ks_cleanup() {
  local m
  if [ -n "$KS_DAEMON_PID" ]; then ks_stop "$KS_DAEMON_PID" 30; KS_DAEMON_PID=; fi
  if [ -n "$KS_LOOP" ]; then
    for m in $(findmnt -rn -S "$KS_LOOP" -o TARGET 2>/dev/null | sort -r); do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
  fi
  if [ -n "$KS_RUN_DIR" ]; then
    for m in $(findmnt -rn -o TARGET 2>/dev/null | { grep -F "$KS_RUN_DIR/" || true; } | sort -r); do
      umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true
    done
  fi
  if [ -n "$KS_IMG" ] && [ -e "$KS_IMG" ]; then
    # Every loop device on this image, should one have been set up twice.
    for m in $(losetup -j "$KS_IMG" -O NAME -n 2>/dev/null) $KS_LOOP; do
      losetup -d "$m" 2>/dev/null || true
    done
    udevadm settle --timeout=10 2>/dev/null || true
  fi
  KS_LOOP=
  if [ -n "$KS_POLKIT_PID" ]; then ks_stop "$KS_POLKIT_PID"; KS_POLKIT_PID=; fi
  if [ -n "$KS_BUS_PID" ]; then ks_stop "$KS_BUS_PID"; KS_BUS_PID=; fi
  if [ -n "$KS_BUS_DIR" ]; then rm -rf "$KS_BUS_DIR"; KS_BUS_DIR=; fi
}

# ks_json_get KEY... : reads one JSON value per line on stdin (keepsakectl
# --json) and prints KEY of the first value that has it.
ks_json_get() {
  python3 -c '
import json, sys
for line in sys.stdin:
    line = line.strip()
    if not line:
        continue
    v = json.loads(line)
    for d in (v if isinstance(v, list) else [v]):
        if isinstance(d, dict) and sys.argv[1] in d:
            print(d[sys.argv[1]]); sys.exit(0)
sys.exit(1)' "$@"
}
