#!/usr/bin/env bash
# Installs the Debian packages Keepsake's build, tests, benchmarks and
# build-aux/run.sh use, only those missing, so running it again is cheap.
# With arguments it installs those packages instead of the whole list.
#
# What the service and its tests need beyond the build: dbus (a private
# system bus), polkitd (authorization; pkaction), udev (drive events,
# udevadm), mount and util-linux (losetup, findmnt, blkid, unshare,
# setpriv, mkswap), passwd (useradd for the multi-user tests), systemd
# (busctl; systemd-analyze, which meson test runs on the unit files),
# libglib2.0-bin (gdbus) and libxml2-utils (xmllint, which meson test runs
# on the D-Bus and polkit XML).
#
# Fedora: dnf install gcc golang rsync fuse3 fusefat dosfstools acl attr
#   e2fsprogs util-linux python3 meson ninja-build systemd-udev dbus-daemon
#   polkit glib2 libxml2 shadow-utils flatpak ostree busybox gnupg2
#   gtk4-devel libadwaita-devel pkgconf-pkg-config desktop-file-utils
#   appstream python3-pyyaml
# (SQLite is compiled into the binaries: no SQLite package is needed.)
set -euo pipefail

packages=(gcc rsync fuse3 fusefat dosfstools acl attr e2fsprogs util-linux mount python3 meson ninja-build
  udev dbus polkitd passwd systemd libglib2.0-bin libxml2-utils
  flatpak ostree busybox-static gpg
  libgtk-4-dev libadwaita-1-dev pkg-config desktop-file-utils appstream python3-yaml)
[ "$#" -gt 0 ] && packages=("$@")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "keepsake: missing Debian packages: ${missing[*]} (run as root, or: sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
echo "keepsake: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
