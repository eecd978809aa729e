#!/usr/bin/env bash
# The app's UI tests, for real: keepsaked on a private system bus with
# polkitd and udevd, an ext4 loop-device "USB drive", and the Keepsake app
# under Xvfb as an ordinary desktop user, driven through AT-SPI the way a
# person would (app/uitest/ui_test.py). Screenshots of every page land in
# $KEEPSAKE_UI_ARTIFACTS (default _artifacts/ui).
#
#   sudo build-aux/ui-test.sh              # ext4: the whole first hour
#   sudo build-aux/ui-test.sh --fs btrfs   # btrfs: snapshots as subvolumes
#
# On btrfs (which cannot be encrypted here) the run is the part of the
# first hour that does not need encryption, then a count of the drive's
# subvolumes; its screenshots go to $KEEPSAKE_UI_ARTIFACTS-btrfs.
# As a normal user it skips and says why (with CI=true that is a failure).
# Steps that need root in the middle of the test (pulling the drive) are
# asked for through a FIFO that this script serves.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

skip() {
  if [ "${CI:-}" = true ]; then echo "keepsake ui-test: FAIL: $* (CI runs every integration test)" >&2; exit 1; fi
  echo "keepsake ui-test: SKIP: $*" >&2; exit 0
}
[ "$(id -u)" -eq 0 ] || skip "needs root (a private system bus, polkitd, loop devices, another user)"
# The whole list (build-aux/test.sh installed it already): the build, the
# bus, udev and the drive, Xvfb, AT-SPI, dunst, imagemagick, xdotool.
build-aux/deps.sh >/dev/null || skip "cannot install the packages it needs (build-aux/deps.sh)"

fs=ext4
case "${1:-}" in
  --fs) fs=${2:?--fs needs ext4 or btrfs} ;;
  "") ;;
  *) echo "usage: build-aux/ui-test.sh [--fs ext4|btrfs]" >&2; exit 2 ;;
esac
[ "$fs" = ext4 ] || [ "$fs" = btrfs ] || { echo "keepsake ui-test: --fs $fs: ext4 or btrfs" >&2; exit 2; }
art=${KEEPSAKE_UI_ARTIFACTS:-$top/_artifacts/ui}
[ "$fs" = ext4 ] || art=$art-$fs
mkdir -p "$art"
rm -f "$art"/*.png "$art"/*.log
work=$(mktemp -d /var/tmp/keepsake-ui.XXXXXX)
chmod 755 "$work"
# Another name keeps two runs on one machine apart.
user=${KEEPSAKE_UI_USER:-keepsake-ui}
echo "== building keepsaked, keepsakectl and the app"
export CGO_ENABLED=1
go build -o "$work/bin/keepsaked" ./service/cmd/keepsaked
go build -o "$work/bin/keepsakectl" ./service/cmd/keepsakectl
go build -o "$work/bin/keepsake" ./app/cmd/keepsake
# The driver runs as the test user, who may not read the checkout (a home
# folder is 0700 on Debian 12, /root always): it gets its own copy.
mkdir -p "$work/uitest"
cp app/uitest/*.py "$work/uitest/"
cp data/nautilus/keepsake-nautilus.py "$work/uitest/" # the Files extension, driven as Files would
# The translations, compiled where the app looks for them: one step runs
# the app in German.
for lang in $(grep -v '^#' po/LINGUAS); do
  mkdir -p "$work/locale/$lang/LC_MESSAGES"
  msgfmt -o "$work/locale/$lang/LC_MESSAGES/keepsake.mo" "po/$lang.po"
done
chmod -R a+rX "$work/bin" "$work/uitest" "$work/locale"

. build-aux/private-bus.sh
finish() {
  local rc=$?
  [ -n "${ctl_pid:-}" ] && kill "$ctl_pid" 2>/dev/null || true
  pkill -u "$user" 2>/dev/null || true
  if [ "$rc" -ne 0 ] && [ -n "${KS_DAEMON_PID:-}" ] && ks_alive "$KS_DAEMON_PID"; then
    # What keepsaked was doing when the test gave up, in the test's own
    # output (a CI log may be all there is): Go prints every goroutine's
    # stack on SIGQUIT; Keepsake's frames of each (a call waiting on a
    # channel or a lock is as telling as one at work).
    kill -QUIT "$KS_DAEMON_PID" 2>/dev/null || true
    sleep 2
    echo "== keepsaked's log and goroutines at the failure" >&2
    sed '/^SIGQUIT/,$d' "$work/daemon/keepsaked.log" | tail -n 30 >&2 || true
    awk '/^goroutine /{g=$0; next}
         /keepsake\/(service|shared)\// && !/\.go:/{print g " " $0}' "$work/daemon/keepsaked.log" | head -n 150 >&2 || true
    KS_DAEMON_PID=
  fi
  ks_cleanup
  [ -f "$work/daemon/keepsaked.log" ] && cp "$work/daemon/keepsaked.log" "$art/keepsaked.log"
  rm -rf "$work"
  exit $rc
}
trap finish EXIT

echo "== a desktop user with files"
id "$user" >/dev/null 2>&1 || useradd -m -s /bin/bash "$user"
home=$(getent passwd "$user" | cut -d: -f6)
find "$home" -mindepth 1 -delete # what an earlier run left
runuser -u "$user" -- mkdir -p "$home/Documents/Projects" "$home/Pictures"
runuser -u "$user" -- sh -c "printf 'Quarterly report, first draft.\n' > '$home/Documents/report.txt'"
runuser -u "$user" -- sh -c "printf 'notes\n' > '$home/Documents/Projects/notes.md'"
runuser -u "$user" -- sh -c "head -c 3000000 /dev/urandom > '$home/Pictures/holiday.jpg'"
runuser -u "$user" -- sh -c "printf 'todo\n' > '$home/Documents/todo.txt'"
# GNOME's window buttons (only Close, its default), not GTK's three, which
# no GNOME user sees and which make the header wider than a phone.
runuser -u "$user" -- mkdir -p "$home/.config/gtk-4.0"
runuser -u "$user" -- sh -c "printf '[Settings]\ngtk-decoration-layout=appmenu:close\n' > '$home/.config/gtk-4.0/settings.ini'"

echo "== a Flatpak app of the user's, from a local repository, with its data"
# Built offline: a busybox runtime and an app that prints a line, with a
# release in its AppStream data so flatpak knows its version. The machine's
# system installation stays out of it (FLATPAK_SYSTEM_DIR for keepsaked).
fp=$work/flatpak
mkdir -p "$fp/rt/files" "$fp/rt/usr/bin" "$fp/app/files/bin" "$fp/app/files/share/app-info/xmls" "$fp/system"
cp "$(command -v busybox)" "$fp/rt/usr/bin/busybox"
ln -s busybox "$fp/rt/usr/bin/sh"
printf '[Runtime]\nname=org.test.Platform\nruntime=org.test.Platform/x86_64/1\nsdk=org.test.Platform/x86_64/1\n' > "$fp/rt/metadata"
printf '#!/bin/sh\necho hello from org.test.Hello\n' > "$fp/app/files/bin/hello"
chmod 755 "$fp/app/files/bin/hello"
printf '[Application]\nname=org.test.Hello\nruntime=org.test.Platform/x86_64/1\n' > "$fp/app/metadata"
printf '<?xml version="1.0" encoding="UTF-8"?>\n<components version="0.14" origin="flatpak"><component type="desktop-application"><id>org.test.Hello</id><name>org.test.Hello</name><summary>A test app</summary><releases><release version="1.0" timestamp="1700000000"/></releases></component></components>\n' |
  gzip > "$fp/app/files/share/app-info/xmls/org.test.Hello.xml.gz"
LC_ALL=C flatpak build-export --runtime "$fp/repo" "$fp/rt" 1 >/dev/null
LC_ALL=C flatpak build-finish "$fp/app" --command=hello >/dev/null
LC_ALL=C flatpak build-export "$fp/repo" "$fp/app" stable >/dev/null
chmod -R a+rX "$fp"

echo "== private system bus, polkitd, udevd, the drive, keepsaked"
ks_bus_start
# No login session exists on the private bus, so polkit would treat the
# user as remote. The rule gives the test user what an administrator at the
# desktop has after typing the password (configure: enrolling the drive).
rules="polkit.addRule(function(action, subject) {
  if (subject.user == '$user' && action.id.indexOf('io.github.keepsake.keepsake1.') == 0 &&
      action.id != 'io.github.keepsake.keepsake1.browse-all')
    return polkit.Result.YES;
});"
ks_polkit_start "$rules"
ks_udevd
# A label of this run's own: other tests on the machine make loop drives
# called "Backup Drive", which the drive list shows too.
label="Backup $$"
ks_drive_make "$work/drive.img" "$label" 1024 "$fs"
# The user installs the app (flatpak asks the system bus about parental
# controls first, so after the bus is up) and it keeps a file of data.
as_user() { (cd / && runuser -u "$user" -- env -i HOME="$home" USER="$user" PATH=/usr/bin:/bin LC_ALL=C \
  DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" "$@"); }
as_user flatpak --user remote-add --no-gpg-verify uitest "file://$fp/repo"
as_user flatpak --user install -y --noninteractive uitest org.test.Hello >/dev/null
as_user flatpak --user list --app --columns=application,version | grep -q '^org.test.Hello[[:space:]]*1.0' ||
  { echo "keepsake ui-test: the test app did not install" >&2; exit 1; }
as_user mkdir -p "$home/.var/app/org.test.Hello/data"
as_user sh -c "printf 'greetings kept by the app\n' > '$home/.var/app/org.test.Hello/data/greeting.txt'"
FLATPAK_SYSTEM_DIR=$fp/system ks_daemon_start "$work/bin/keepsaked" "$work/daemon"

# Root's side of the test: the driver writes a request line into the FIFO
# and waits for its answer file.
ctl=$work/ctl
mkdir -p "$ctl" "$work/shots"; chown "$user" "$work/shots"; mkfifo "$ctl/requests"; chown "$user" "$ctl" "$ctl/requests"
serve() {
  local n=0 req
  while true; do
    while read -r req; do
      n=$((n + 1))
      case "$req" in
        pull)  # the drive is pulled: unmounted under the service and gone from udev
          for m in $(findmnt -rn -S "$KS_LOOP" -o TARGET 2>/dev/null | sort -r); do umount -l "$m" || true; done
          udevadm trigger --action=remove --settle "$KS_LOOP"; echo ok > "$ctl/answer.$n" ;;
        plug)  udevadm trigger --action=add --settle "$KS_LOOP"; echo ok > "$ctl/answer.$n" ;;
        lock)  # the encrypted drive's key leaves the kernel, as after a restart;
          # a backup after changes may hold the drive (Busy) for a while
          ok=
          for _ in $(seq 60); do
            if "$work/bin/keepsakectl" lock "$KS_UUID" >"$ctl/lock.log" 2>&1; then ok=1; break; fi
            sleep 1
          done
          if [ -n "$ok" ]; then echo ok > "$ctl/answer.$n"; else cat "$ctl/lock.log" > "$ctl/answer.$n"; fi ;;
        subvolumes\ *)  # at least N read-only snapshot subvolumes, no .partial one
          want=${req#subvolumes }
          m=$(findmnt -rn -S "$KS_LOOP" -o TARGET 2>/dev/null | head -n1)
          if [ -z "$m" ]; then echo "the drive is not mounted" > "$ctl/answer.$n"
          else
            list=$(btrfs subvolume list -a -r "$m" | grep -c 'Keepsake/' || true)
            partial=$(btrfs subvolume list -a "$m" | grep -c '\.partial' || true)
            echo "   the drive's read-only snapshot subvolumes: $list; interrupted ones left: $partial" >&2
            if [ "$list" -ge "$want" ] && [ "$partial" -eq 0 ]; then echo ok > "$ctl/answer.$n"
            else echo "$list read-only snapshot subvolumes (want $want), $partial .partial" > "$ctl/answer.$n"; fi
          fi ;;
        search-as-root\ *)  # what the service finds for root, who sees every file (a failure's explanation)
          { echo "   keepsakectl search ${req#search-as-root }, as root:"
            "$work/bin/keepsakectl" search "${req#search-as-root }" 2>&1 | head -n 20; } >&2
          echo ok > "$ctl/answer.$n" ;;
        stop-service) ks_stop "$KS_DAEMON_PID" 30; KS_DAEMON_PID=; echo ok > "$ctl/answer.$n" ;;
        *) echo "unknown request $req" > "$ctl/answer.$n" ;;
      esac
      chmod 644 "$ctl/answer.$n"
    done < "$ctl/requests"
  done
}
serve &
ctl_pid=$!

echo "== the app under Xvfb, driven through AT-SPI"
# The driver's output goes to a file, not a pipe: xvfb-run's X server
# inherits the pipe and would keep a reader waiting after a failure.
rc=0
cd "$work" # a folder the test user may enter
runuser -u "$user" -- env -i HOME="$home" USER="$user" PATH=/usr/bin:/bin LANG=C.UTF-8 \
  DBUS_SYSTEM_BUS_ADDRESS="$DBUS_SYSTEM_BUS_ADDRESS" \
  KEEPSAKE_APP="$work/bin/keepsake" KEEPSAKE_LOCALEDIR="$work/locale" KEEPSAKE_UI_ARTIFACTS="$work/shots" KEEPSAKE_UI_CTL="$ctl" \
  KEEPSAKE_DRIVE_UUID="$KS_UUID" KEEPSAKE_DRIVE_LABEL="$label" KEEPSAKE_DRIVE_FS="$fs" GDK_BACKEND=x11 GSK_RENDERER=cairo \
  timeout --kill-after=30 1200 xvfb-run -a -s '-screen 0 1280x900x24' \
  dbus-run-session -- /usr/bin/python3 "$work/uitest/ui_test.py" >"$art/ui-test.log" 2>&1 || rc=$?
cd "$top"
grep -v '^dbus-daemon\[' "$art/ui-test.log" || true
cp "$work"/shots/*.png "$art/" 2>/dev/null || true
cp "$work"/shots/*.log "$art/" 2>/dev/null || true
[ "$rc" -eq 0 ] || { echo "keepsake ui-test: FAILED (log and screenshots in $art)" >&2; exit "$rc"; }
echo "keepsake ui-test: passed; screenshots in $art"
