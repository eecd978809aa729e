#!/usr/bin/env bash
# Installs the Debian packages Keepsake's build, tests and benchmarks use,
# only those missing, so running it again is cheap.
# Fedora: dnf install gcc golang rsync fuse fusefat dosfstools acl attr e2fsprogs python3 meson
# (SQLite is compiled into the binaries: no SQLite package is needed.)
set -euo pipefail

packages=(gcc rsync fuse fusefat dosfstools acl attr e2fsprogs util-linux python3 meson ninja-build)
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
