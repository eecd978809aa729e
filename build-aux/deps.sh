#!/usr/bin/env bash
# Installs every Debian package that Keepsake's build, its tests (every
# stage of build-aux/test.sh, the Go tests and build-aux/ui-test.sh),
# benchmarks and build-aux/run.sh use, only those missing, so running it
# again is cheap (one dpkg-query). build-aux/test.sh runs it before its
# first stage, so a fresh Debian 12 machine with only Go and gcc has
# everything before anything needs it (build-aux/check-fresh-machine.sh
# proves that on a clean root). With arguments it installs those packages
# instead of the whole list.
#
# Which stage needs what (command: package):
#   build: gcc and libc6-dev (cgo: SQLite, GTK), pkg-config and
#     libgtk-4-dev, libadwaita-1-dev (the app), ca-certificates (go fetches
#     modules over HTTPS), meson, ninja-build (the real install)
#   data files: xmllint (libxml2-utils), systemd-analyze (systemd),
#     desktop-file-validate (desktop-file-utils), appstreamcli (appstream)
#   translations (check-po.sh, meson): xgettext, msgfmt, msgcmp (gettext),
#     with the ITS rules polkitd, appstream and libgtk-4-dev install; the
#     locales the translation tests run in, made by localedef (locales)
#   check-flatpak.sh: python3 with python3-yaml, rsync
#   the Files extension's tests: python3-gi, and the Nautilus 4.0
#     typelib it is also loaded against (python3-nautilus, which brings
#     gir1.2-nautilus-4.0; not Files itself)
#   preparing drives (the service at run time, and its tests): wipefs
#     (util-linux), mkfs.btrfs (btrfs-progs), mkfs.ext4 and e2label
#     (e2fsprogs), blkid (util-linux)
#   Go tests: losetup, mount (mount), mkfs.ext4 (e2fsprogs), mkfs.btrfs (btrfs-progs), mkfs.vfat
#     (dosfstools), fusefat (fusefat), mkfs.exfat (exfatprogs),
#     mount.exfat-fuse (exfat-fuse), fusermount (fuse3), udevadm and
#     systemd-udevd (udev), blkid, mkswap, setpriv, unshare, fsfreeze,
#     runuser (util-linux), useradd, groupadd, usermod (passwd),
#     dbus-daemon (dbus), polkitd and pkaction (polkitd), busctl (systemd),
#     gdbus (libglib2.0-bin), setfacl (acl), flatpak (flatpak; bwrap from
#     its bubblewrap), ostree, busybox (busybox-static), gpg and the
#     gpg-agent that makes its keys (gpg, gpg-agent), getfattr (attr),
#     sshd (openssh-server), ssh, ssh-keygen, ssh-keyscan (openssh-client)
#     and rrsync (rsync) for other computers;
#     the GTK tests run under xvfb-run (xvfb, xauth)
#   ui-test.sh: python3-pyatspi and at-spi2-core (AT-SPI), dunst
#     (notifications), import (imagemagick), xdotool, pkill (procps),
#     dbus-run-session (dbus), xvfb-run (xvfb, xauth), and the app's
#     colour SVG icon drawn (librsvg2-common: GTK only recommends it)
#
# Fedora (keep in step with README.md): dnf install gcc golang
#   ca-certificates rsync fuse3 fusefat dosfstools fuse-exfat exfatprogs
#   acl attr e2fsprogs gettext
#   btrfs-progs util-linux procps-ng python3 python3-pyyaml meson ninja-build
#   systemd-udev dbus-daemon polkit glib2 libxml2 shadow-utils flatpak
#   ostree busybox gnupg2 openssh-server
#   openssh-clients; for the app gtk4-devel libadwaita-devel
#   pkgconf-pkg-config desktop-file-utils appstream; for its UI tests
#   xorg-x11-server-Xvfb xauth python3-pyatspi at-spi2-core dunst
#   ImageMagick xdotool librsvg2; for the Files extension python3-gobject
#   nautilus-python
# (SQLite is compiled into the binaries: no SQLite package is needed.)
set -euo pipefail

packages=(
  # build
  gcc libc6-dev pkg-config ca-certificates meson ninja-build libgtk-4-dev libadwaita-1-dev
  # data files
  libxml2-utils systemd desktop-file-utils appstream
  # translations
  gettext locales
  # check-flatpak.sh
  python3 python3-yaml rsync
  # the Files extension's tests
  python3-gi python3-nautilus
  # Go tests
  mount util-linux e2fsprogs btrfs-progs dosfstools fusefat exfatprogs exfat-fuse fuse3 udev passwd dbus polkitd libglib2.0-bin
  acl attr flatpak ostree busybox-static gpg gpg-agent xvfb xauth openssh-server openssh-client
  # ui-test.sh
  python3-pyatspi at-spi2-core dunst imagemagick xdotool procps librsvg2-common
)
explicit=$#
[ "$#" -gt 0 ] && packages=("$@")

# The locales the translation tests and the German UI test run in (a
# desktop in those languages has them; a fresh machine has only C.UTF-8).
ensure_locales() {
  local want=(en_US de_DE pl_PL) have l gen=()
  have=$(locale -a 2>/dev/null | tr 'A-Z' 'a-z')
  for l in "${want[@]}"; do
    grep -qx "$(echo "$l" | tr 'A-Z' 'a-z').utf8" <<<"$have" || gen+=("$l")
  done
  [ "${#gen[@]}" -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    echo "keepsake: missing locales: ${gen[*]} (as root: localedef -i LOCALE -f UTF-8 LOCALE.UTF-8)" >&2
    return 1
  fi
  for l in "${gen[@]}"; do localedef -i "$l" -f UTF-8 "$l.UTF-8"; done
}

# One dpkg-query for the whole list; a package it does not know is missing.
declare -A installed=()
while read -r name status; do
  [ "$status" = installed ] && installed[$name]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)
missing=()
for p in "${packages[@]}"; do
  [ -n "${installed[$p]:-}" ] || missing+=("$p")
done
if [ "${#missing[@]}" -eq 0 ]; then
  [ "$explicit" -gt 0 ] || ensure_locales
  exit
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "keepsake: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "keepsake: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
[ "$explicit" -gt 0 ] || ensure_locales
