#!/usr/bin/env bash
# Runs Keepsake: the keepsaked service for real, on a private system bus,
# with a "USB drive" (an ext4 image on a loop device), driven by keepsakectl.
#
#   sudo build-aux/run.sh [--no-wait]
#
# It builds keepsaked and keepsakectl, starts a private dbus-daemon
# configured like the system bus (with data/io.github.keepsake.Keepsake1.conf),
# polkitd on it, systemd-udevd if it is not running, makes the drive, starts
# keepsaked, creates the profile "home" for a sample folder, enrolls the
# drive (the first backup starts by itself), changes a file and shows the
# backup that change triggers, then searches, lists versions and restores
# through the service. Then it keeps the service running until Ctrl-C (or,
# with --no-wait, stops at once) and takes everything down again. Under
# sudo, $SUDO_USER may use the service from another terminal as a user at
# the desktop would (a polkit rule that only the demo's polkitd reads).
#
# Everything lives in a temporary folder, removed at the end, or in
# $KEEPSAKE_DEMO_DIR, which is kept. $KEEPSAKE_SOURCE backs up that folder
# too (it is only read). $KEEPSAKE_DRIVE_MB sizes the drive (default 512).
#
# The service must run as root. As a normal user this script says so and
# shows keepsakectl --repo instead, which works on a drive folder directly.
set -euo pipefail
cd "$(dirname "$0")/.."

usage() { echo "usage: $0 [--no-wait]   (as root; as a normal user it shows keepsakectl --repo)"; }
no_wait=0
for a in "$@"; do
  case "$a" in
    --no-wait) no_wait=1 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; exit 2 ;;
  esac
done

# demo_dir: $KEEPSAKE_DEMO_DIR (made ready for a fresh run) or a new
# temporary folder. Sets demo and demo_is_temp.
demo_dir() {
  demo_is_temp=0
  if [ -z "${KEEPSAKE_DEMO_DIR:-}" ]; then
    demo=$(mktemp -d /var/tmp/keepsake-demo.XXXXXX)
    demo_is_temp=1
  else
    demo=$(realpath -m "$KEEPSAKE_DEMO_DIR")
    mkdir -p "$demo"
    if [ -n "$(ls -A "$demo")" ] && [ ! -e "$demo/.keepsake-demo" ]; then
      echo "keepsake: $demo is not empty and not an earlier demo folder: choose another KEEPSAKE_DEMO_DIR" >&2
      exit 1
    fi
  fi
  touch "$demo/.keepsake-demo"
  # Other users may want to try keepsakectl against the running service.
  chmod 755 "$demo"
}

# --- As a normal user: keepsakectl --repo on a folder -----------------------

repo_demo() {
  build-aux/deps.sh gcc >/dev/null || true
  demo_dir
  rm -rf "$demo/bin" "$demo/drive" "$demo/Documents"
  mkdir -p "$demo/bin" "$demo/drive" "$demo/Documents/notes"
  echo "== building keepsakectl"
  go build -o "$demo/bin/keepsakectl" ./service/cmd/keepsakectl
  ctl() { echo "\$ keepsakectl --repo $demo/drive $*"; "$demo/bin/keepsakectl" --repo "$demo/drive" "$@"; echo; }

  printf 'Shopping: milk, bread\n' > "$demo/Documents/notes/todo.txt"
  printf 'Dear diary,\n' > "$demo/Documents/diary.txt"
  head -c 2000000 /dev/urandom > "$demo/Documents/photo.raw"

  ctl init
  ctl backup "$demo/Documents"
  sleep 1
  printf 'Shopping: nothing, all done\n' > "$demo/Documents/notes/todo.txt"
  mv "$demo/Documents/photo.raw" "$demo/Documents/notes/photo.raw"
  ctl -v backup "$demo/Documents"
  ctl snapshots
  ctl search todo
  local first
  first=$("$demo/bin/keepsakectl" --repo "$demo/drive" --json snapshots | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])')
  ctl versions "$demo/Documents/notes/todo.txt"
  ctl diff "$first" latest
  ctl verify
  ctl restore "$first" "$demo/Documents/notes/todo.txt"
  echo "\$ ls $demo/Documents/notes"; ls -l "$demo/Documents/notes"
  echo
  ctl log
  echo "The repository is in $demo/drive/Keepsake: browse it with any file manager."
}

if [ "$(id -u)" -ne 0 ]; then
  cat >&2 <<'EOF'
keepsake: the service (keepsaked) runs as root: it reads every backed-up
folder and mounts the backup drive. Run `sudo build-aux/run.sh` to see it
work, on a private bus and a loop-device drive that are removed afterwards.
Meanwhile, here is keepsakectl --repo, which works on a drive folder
directly and needs no service.

EOF
  repo_demo
  exit 0
fi

# --- As root: the service -----------------------------------------------------

set -o errtrace
trap 'echo "keepsake: run.sh stopped at line $LINENO: $BASH_COMMAND" >&2' ERR
build-aux/deps.sh
demo_dir
# What an earlier run in this folder left, should it have been killed.
for l in $(losetup -j "$demo/drive.img" -O NAME -n 2>/dev/null); do
  for m in $(findmnt -rn -S "$l" -o TARGET | sort -r); do umount "$m" || umount -l "$m"; done
  losetup -d "$l"
done
rm -rf "$demo/bin" "$demo/etc" "$demo/state" "$demo/run" "$demo/drive.img" "$demo/keepsaked.log" "$demo/Documents"

. build-aux/private-bus.sh
app_pid=
cleanup() {
  local rc=$?
  trap - EXIT INT TERM ERR
  echo
  echo "== stopping: keepsaked, the drive, polkitd, the bus"
  if [ -n "$app_pid" ]; then kill "$app_pid" 2>/dev/null || true; fi
  ks_cleanup
  if [ "$demo_is_temp" = 1 ]; then
    rm -rf "$demo"
    echo "removed $demo"
  else
    echo "kept $demo (the drive image $demo/drive.img holds the backups: mount it to browse)"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "== building keepsaked and keepsakectl"
go build -o "$demo/bin/" ./service/cmd/keepsaked ./service/cmd/keepsakectl
export PATH=$demo/bin:$PATH
# The translations, compiled where the binaries look for them (meson
# installs them to /usr/share/locale): LANGUAGE=de build-aux/run.sh shows
# the app in German.
if command -v msgfmt >/dev/null; then
  for lang in $(grep -v '^#' po/LINGUAS); do
    mkdir -p "$demo/locale/$lang/LC_MESSAGES"
    msgfmt -o "$demo/locale/$lang/LC_MESSAGES/keepsake.mo" "po/$lang.po"
  done
  export KEEPSAKE_LOCALEDIR=$demo/locale
fi

echo "== starting a private system bus, polkitd and udev"
ks_bus_start
# There is no login session on the private bus, so polkit would treat every
# user as remote. The user who ran sudo gets what a user at the desktop has
# by default (back up, browse, restore, choose folders in their home); the
# rule lives only in polkitd's private rules folder.
rules=
if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
  rules="polkit.addRule(function(action, subject) {
  var own = ['backup', 'browse', 'restore', 'manage-own-folders'];
  if (subject.user == '$SUDO_USER' && action.id.indexOf('io.github.keepsake.keepsake1.') == 0 &&
      own.indexOf(action.id.substring(29)) >= 0)
    return polkit.Result.YES;
});"
fi
ks_polkit_start "$rules" || true
ks_udevd
echo "bus: DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS"

echo "== making a ${KEEPSAKE_DRIVE_MB:-512} MB \"USB drive\" (ext4, label KeepsakeDemo)"
ks_drive_make "$demo/drive.img" KeepsakeDemo "${KEEPSAKE_DRIVE_MB:-512}"
echo "drive: $KS_LOOP, filesystem UUID $KS_UUID"

echo "== starting keepsaked"
ks_daemon_start "$demo/bin/keepsaked" "$demo"
echo "keepsaked runs (pid $KS_DAEMON_PID), log in $demo/keepsaked.log"
echo

ctl() { echo "\$ keepsakectl $*"; keepsakectl "$@"; echo; }
say() { echo "-- $*"; }

# state KEY: a field of the profile's status.
state() { keepsakectl --json status | ks_json_get "$1"; }

# wait_backups N: until the profile has N snapshots and no backup runs.
wait_backups() {
  local n=$1 deadline=$((SECONDS + 300)) count st
  while :; do
    count=$(keepsakectl --json snapshots 2>/dev/null | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))' 2>/dev/null || echo 0)
    st=$(state state 2>/dev/null || echo unknown)
    if [ "$count" -ge "$n" ] && [ "$st" != running ]; then return 0; fi
    if [ "$st" = failed ]; then
      echo "keepsake: the backup failed: $(state message)" >&2
      return 1
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "keepsake: no backup after 5 minutes (state $st); keepsaked's log:" >&2
      tail -20 "$demo/keepsaked.log" >&2
      return 1
    fi
    sleep 0.2
  done
}

# show_last_job: the newest Job object's trigger and figures, read with
# busctl as any D-Bus client would.
show_last_job() {
  local job
  job=$(busctl --system --json=short get-property io.github.keepsake.Keepsake1 /io/github/keepsake/Keepsake1/Manager \
    io.github.keepsake.Keepsake1.Manager Jobs | python3 -c 'import json,sys; print(sorted(json.load(sys.stdin)["data"], key=lambda p: int(p.rsplit("/",1)[1]))[-1])')
  echo "\$ busctl --system get-property io.github.keepsake.Keepsake1 $job io.github.keepsake.Keepsake1.Job Trigger Result"
  busctl --system --json=short get-property io.github.keepsake.Keepsake1 "$job" io.github.keepsake.Keepsake1.Job Trigger Result |
    python3 -c '
import json, sys
trigger = json.loads(sys.stdin.readline())["data"]
r = {k: v["data"] for k, v in json.loads(sys.stdin.readline())["data"].items()}
r["trigger"] = trigger
r["full-scan"] = "yes" if r["full-scan"] else "no"
print("  trigger %(trigger)s: snapshot %(snapshot)s, %(files)d files, %(copied)d copied (%(copied-bytes)d bytes), "
      "%(new)d new, %(modified)d modified, %(moved)d moved" % r)
print("  folders read %(read-dirs)d, taken from the previous snapshot %(reused-dirs)d, full scan %(full-scan)s" % r)'
  echo
}

sample=$demo/Documents
mkdir -p "$sample/notes" "$sample/recipes" "$sample/taxes/2025"
printf 'Shopping: milk, bread\n' > "$sample/notes/todo.txt"
printf 'Dear diary,\n' > "$sample/diary.txt"
printf 'Pancakes: flour, eggs, milk\n' > "$sample/recipes/pancakes.txt"
printf 'Income: 1\n' > "$sample/taxes/2025/return.txt"
head -c 2000000 /dev/urandom > "$sample/photo.raw"
sources=("$sample")
if [ -n "${KEEPSAKE_SOURCE:-}" ]; then
  [ -d "$KEEPSAKE_SOURCE" ] || { echo "keepsake: KEEPSAKE_SOURCE=$KEEPSAKE_SOURCE is not a folder" >&2; exit 1; }
  sources=("$(realpath "$KEEPSAKE_SOURCE")" "$sample")
fi
say "a sample folder $sample: diary.txt, photo.raw (2 MB), notes/todo.txt, recipes/, taxes/2025/"
echo

say "a backup profile for ${sources[*]}"
ctl create-profile home "${sources[@]}"
say "back up 2 seconds after changes stop (the default waits 5 minutes)"
ctl configure quiet=2

say "the service saw the drive through udev"
ks_wait_for 15 sh -c "keepsakectl --json drives | grep -q '$KS_UUID'" || { echo "keepsake: the service did not see $KS_LOOP" >&2; exit 1; }
ctl drives
say "enroll it: the service writes a repository on it; a backup is due, so the first one starts by itself"
ctl enroll "$KS_UUID"
ctl status
wait_backups 1
say "the first backup is done"
ctl status
ctl drives
show_last_job

say "change a file and move another: the watcher notices, and after 2 quiet seconds a backup starts"
echo "\$ echo 'Shopping: nothing, all done' > $sample/notes/todo.txt"
printf 'Shopping: nothing, all done\n' > "$sample/notes/todo.txt"
echo "\$ mv $sample/photo.raw $sample/notes/"
mv "$sample/photo.raw" "$sample/notes/"
wait_backups 2
say "it read only the 2 changed folders, took the others from the previous snapshot, and hardlinked the moved photo"
show_last_job

ctl snapshots
first=$(keepsakectl --json snapshots | ks_json_get name)
ctl search todo
ctl versions "$sample/notes/todo.txt"
ctl ls latest "$sample/notes"
say "restore the first version: it lands beside the new one"
ctl restore "$first" "$sample/notes/todo.txt"
echo "\$ ls -l $sample/notes"; ls -l "$sample/notes"
echo
say "the plain-text status file, for scripts and monitoring"
echo "\$ cat $KS_RUN_DIR/status"; cat "$KS_RUN_DIR/status"
echo

# The app, once there is one to open.
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ]; then
  if ls app/cmd/keepsake/*.go >/dev/null 2>&1; then
    echo "== building the app (the first build of GTK bindings takes about 10 minutes)"
    go build -o "$demo/bin/keepsake" ./app/cmd/keepsake
    chmod 755 "$demo/bin/keepsake"
    if [ -n "${SUDO_USER:-}" ] && [ "$SUDO_USER" != root ]; then
      runuser -u "$SUDO_USER" -- env DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" KEEPSAKE_LOCALEDIR="${KEEPSAKE_LOCALEDIR:-}" "$demo/bin/keepsake" &
    else
      "$demo/bin/keepsake" &
    fi
    app_pid=$!
    echo "the app runs (pid $app_pid)"
  else
    echo "(the desktop app is not built yet: app/ has no program, so there is nothing to open)"
  fi
fi

if [ "$no_wait" = 1 ]; then
  exit 0
fi

who="as root"
[ -n "$rules" ] && who="as root or as $SUDO_USER (who may back up, browse and restore, like a user at the desktop)"
cat <<EOF
== keepsaked keeps running. In another terminal, $who:

  export DBUS_SYSTEM_BUS_ADDRESS=$DBUS_SYSTEM_BUS_ADDRESS
  export PATH=$demo/bin:\$PATH KEEPSAKE_LOCALEDIR=${KEEPSAKE_LOCALEDIR:-}
  keepsakectl status
  keepsakectl backup-now
  keepsakectl snapshots
  keepsakectl ls latest $sample
  keepsakectl deleted $sample
  busctl --system tree io.github.keepsake.Keepsake1
  busctl --system introspect io.github.keepsake.Keepsake1 /io/github/keepsake/Keepsake1/profiles/home
  gdbus call --system -d io.github.keepsake.Keepsake1 -o /io/github/keepsake/Keepsake1/Manager \\
    -m io.github.keepsake.Keepsake1.Manager.GetStatus {}
  cat $KS_RUN_DIR/status

Change files in $sample and watch new snapshots appear. Ctrl-C here stops
everything (keepsaked, the drive, polkitd, the bus) and cleans up.
EOF
# wait returns when keepsaked exits, or at once on Ctrl-C (the trap).
wait "$KS_DAEMON_PID" || true
echo "keepsake: keepsaked stopped; the end of its log:" >&2
tail -5 "$demo/keepsaked.log" >&2
