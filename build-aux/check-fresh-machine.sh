#!/usr/bin/env bash
# check-fresh-machine.sh: proves that the README's test command passes the
# first time on a fresh Debian 12 machine that has only Go and gcc.
#
#   sudo nice -n 15 build-aux/check-fresh-machine.sh [--keep] [--modcache=empty|host] > check.log 2>&1
#
# It builds a clean Debian 12 (bookworm) root with debootstrap (minbase:
# less than a fresh install has, so every package a stage uses must come
# from build-aux/deps.sh), copies in this machine's Go ($(go env GOROOT),
# as /usr/local/go), installs gcc and git without their recommends (git:
# the tree is a git clone, and go build stamps binaries from it with git),
# clones the committed HEAD of this repository (uncommitted changes are
# not tested) and runs `CI=true bash .ci/run` in it as root, with an empty
# Go build cache. The Go module cache is empty too and modules come from
# the Go module proxy; --modcache=host instead serves them from this
# machine's module cache (read-only, as a GOPROXY=file:// in front of the
# proxy) to save the downloads. The exit status is the test command's.
#
# Needs: root, debootstrap (installed with apt-get when missing), the
# Debian mirror this machine's apt uses (or $KEEPSAKE_MIRROR), the Go
# module proxy, about 6 GB in /var/tmp (or $KEEPSAKE_FRESH_DIR) and
# 30-50 minutes on 2 cores (the cold gotk4 build alone takes 11-25).
#
# The root runs in its own mount and PID namespaces (see in_root): its
# mounts, daemons and `pkill -u` cannot touch this machine's, and every
# process it started ends with it. It shares this machine's kernel, so it
# bind-mounts /sys and /dev (loop devices, /dev/fuse), mounts its own
# /proc and a tmpfs /run, and keeps its own /tmp. udev is the machine's:
# two udevds on one kernel would both handle every event and both announce
# it on the shared network namespace, so this machine's systemd-udevd is
# used (started when none answers, as build-aux/private-bus.sh does) and
# /run/udev is bind-mounted in; the tests then find a udevd that answers
# and delivers events, as on a booted machine. X servers also listen on
# abstract sockets, which the root shares with this machine, so displays
# :99-:149 are left to this machine's xvfb-run (lock files in the root's
# /tmp) and the root's xvfb-run -a starts at :150.
#
# With --keep the root stays in the work folder, for a look after a
# failure; otherwise it is removed (loop devices left on its images are
# detached). The UI tests' screenshots and logs stay in the work folder.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

keep=0 modcache=empty host_proxy=
for a in "$@"; do
  case "$a" in
    --keep) keep=1 ;;
    --modcache=empty|--modcache=host) modcache=${a#--modcache=} ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "usage: $0 [--keep] [--modcache=empty|host]" >&2; exit 2 ;;
  esac
done
log() { echo "check-fresh-machine: $*" >&2; }
[ "$(id -u)" -eq 0 ] || { log "needs root (debootstrap, chroot, loop devices)"; exit 1; }

goroot=${KEEPSAKE_GOROOT:-$(go env GOROOT 2>/dev/null || true)}
[ -x "$goroot/bin/go" ] || { log "no Go toolchain found (set KEEPSAKE_GOROOT)"; exit 1; }
if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

# The Debian mirror this machine's apt uses (one-line or deb822 sources).
mirror=${KEEPSAKE_MIRROR:-}
if [ -z "$mirror" ]; then
  mirror=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null |
    sed -nE 's/^deb +(\[[^]]*\] +)?([a-z]+:[^ ]+) .*/\2/p; s/^URIs: *([^ ]+).*/\1/p' |
    grep -v -e security -e '^cdrom:' | head -1 || true)
  mirror=${mirror:-http://deb.debian.org/debian}
fi

src_sha=$(git -C "$top" rev-parse HEAD)
if [ -n "$(git -C "$top" status --porcelain --untracked-files=no)" ]; then
  log "the working tree has uncommitted changes: only the committed HEAD ($src_sha) is tested"
fi

work=${KEEPSAKE_FRESH_DIR:-$(mktemp -d /var/tmp/keepsake-fresh.XXXXXX)}
mkdir -p "$work"
root=$work/root
[ ! -e "$root" ] || { log "$root exists: choose an empty KEEPSAKE_FRESH_DIR"; exit 1; }

cleanup() {
  local rc=$? l f ino
  trap - EXIT INT TERM
  # Loop devices the tests left attached to images inside the root. The
  # kernel names their files as the root saw them (/tmp/...): the inode
  # tells them from the machine's own.
  while read -r l ino f; do
    [ "$(stat -c %i "$root$f" 2>/dev/null)" = "$ino" ] && losetup -d "$l" 2>/dev/null || true
  done < <(losetup -l -n --raw -O NAME,BACK-INO,BACK-FILE 2>/dev/null || true)
  if [ "$keep" = 1 ]; then
    log "kept $root"
  elif [ -d "$root" ]; then
    # Everything was mounted inside the root's own mount namespace, gone
    # with it; never delete through a mount that is somehow still there.
    if findmnt -rn -o TARGET | grep -q -F "$root/"; then
      log "something is still mounted under $root: not removing it"
    else
      rm -rf --one-file-system "$root"
      rm -f "$work/debootstrap.log"
      rmdir "$work" 2>/dev/null || true
    fi
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# udev: this machine's, shared (see above).
udev=share
if ! udevadm control --ping --timeout=5 >/dev/null 2>&1; then
  if [ -x /lib/systemd/systemd-udevd ] || [ -x /usr/lib/systemd/systemd-udevd ]; then
    # shellcheck source=build-aux/private-bus.sh
    . "$top/build-aux/private-bus.sh"
    ks_udevd
  else
    log "this machine has no systemd-udevd: the tests start one inside the root"
    udev=own
  fi
fi

# in_root CMD...: runs CMD in the root as root, with a clean environment
# (plus $env_extra), in a new mount namespace whose root is the root
# itself (pivot_root, not chroot: a chrooted process may not create user
# namespaces, which bwrap needs for `flatpak run` as a user, and `unshare
# --propagation` and the tests that read the filesystem type from
# mountinfo need / to be a mount point), with /sys, /dev, a tmpfs /run and
# the machine's /run/udev on it, and in a new PID namespace with its own
# /proc: tools that compare / with PID 1's root (systemd's udevadm, dpkg
# scripts) then see no chroot, and every process CMD leaves is killed when
# it returns. Package scripts still start no service: policy-rc.d says no.
env_extra=()
in_root() {
  unshare --mount --propagation private -- /bin/bash -euc '
    root=$1 udev=$2 modcache=$3; shift 3
    mount --bind "$root" "$root"
    mount --rbind /sys "$root/sys"
    mount --rbind /dev "$root/dev"
    mount -t tmpfs -o mode=755,nosuid,nodev tmpfs "$root/run"
    mkdir -m 1777 "$root/run/lock"
    if [ "$udev" = share ]; then mkdir "$root/run/udev"; mount --bind /run/udev "$root/run/udev"; fi
    if [ -n "$modcache" ]; then mount --bind -o ro "$modcache" "$root/var/cache/go-proxy-host"; fi
    mkdir "$root/run/oldroot"
    cd "$root"
    pivot_root . run/oldroot
    # From here on every command comes from the root. umount reads
    # /proc/self/mountinfo: a /proc for the moment, then its own below.
    mount -t proc proc /proc
    umount -l /run/oldroot
    rmdir /run/oldroot
    umount /proc
    exec unshare --pid --fork --kill-child --mount-proc /usr/bin/env -i HOME=/root LANG=C.UTF-8 TERM=dumb \
      PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@" </dev/null
  ' in-root "$root" "$udev" "$host_proxy" "${env_extra[@]}" "$@"
}

start=$SECONDS
log "debootstrap bookworm (minbase) from $mirror into $root"
mkdir -p /var/cache/keepsake-check/debootstrap
debootstrap --variant=minbase --cache-dir=/var/cache/keepsake-check/debootstrap bookworm "$root" "$mirror" >"$work/debootstrap.log" 2>&1 ||
  { log "debootstrap failed:"; tail -20 "$work/debootstrap.log" >&2; exit 1; }
# Packages installed in a chroot must not start their services (dbus,
# udev, polkitd) as they would on a booted machine: they would run beside
# this machine's.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
cp /etc/resolv.conf "$root/etc/resolv.conf"
# This machine's apt settings for reaching its mirror (proxy, date checks).
apt-config dump 2>/dev/null | grep -E '^Acquire::(https?::Proxy|Check-Valid-Until|Check-Date) ' \
  >"$root/etc/apt/apt.conf.d/99host-mirror" || true
printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
# Certificates this machine trusts beyond Debian's (a TLS-inspecting proxy
# on its network, say): a fresh machine on this network would have them
# too. ca-certificates, once deps.sh installs it, adds them to the bundle.
mkdir -p "$root/usr/local/share/ca-certificates"
pem_id() { sed -n '/BEGIN CERT/,/END CERT/p' "$1" | tr -d ' \r\t\n' | sha256sum | cut -c1-64; }
certs=$work/host-certs
mkdir -p "$certs"
awk -v d="$certs" '/BEGIN CERT/ { n++; f = sprintf("%s/%03d.crt", d, n) } f { print > f } /END CERT/ { close(f); f = "" }' \
  /etc/ssl/certs/ca-certificates.crt 2>/dev/null || true
known=$(for f in /usr/share/ca-certificates/*/*.crt; do [ -f "$f" ] && pem_id "$f"; done | sort -u)
for f in "$certs"/*.crt; do
  [ -f "$f" ] || continue
  grep -q -x "$(pem_id "$f")" <<<"$known" || cp "$f" "$root/usr/local/share/ca-certificates/host-$(basename "$f")"
done
rm -rf "$certs"
for n in $(seq 99 149); do printf '%10d\n' 1 >"$root/tmp/.X$n-lock"; done

log "copying Go from $goroot ($("$goroot/bin/go" version | cut -d' ' -f3))"
mkdir -p "$root/usr/local"
cp -a "$goroot" "$root/usr/local/go"
if [ "$modcache" = host ]; then
  host_proxy=$(go env GOMODCACHE)/cache/download
  mkdir -p "$root/var/cache/go-proxy-host"
  env_extra=(GOPROXY=file:///var/cache/go-proxy-host,https://proxy.golang.org,direct)
  log "Go modules from this machine's module cache ($host_proxy, read-only), then the proxy"
else
  log "Go module cache empty: modules come from the Go module proxy"
fi

# Without their recommends (libc6-dev, ca-certificates, openssh-client's
# xauth...): whatever else the tests need must come from deps.sh.
log "the machine's starting point: apt-get install --no-install-recommends gcc git"
in_root /bin/sh -ec 'apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends gcc git >/dev/null' ||
  { log "installing gcc and git failed"; exit 1; }

log "cloning $top at $src_sha"
git clone -q --no-local "$top" "$root/root/keepsake"
git -C "$root/root/keepsake" checkout -q --detach "$src_sha"
log "root ready in $((SECONDS - start)) s; installed packages: $(in_root dpkg-query -W -f='.\n' | wc -l)"

log "running CI=true bash .ci/run as root in the root"
t0=$SECONDS rc=0
in_root /bin/bash -c 'cd /root/keepsake && CI=true exec bash .ci/run' || rc=$?
d=$((SECONDS - t0))
if [ -d "$root/root/keepsake/_artifacts" ]; then
  cp -a "$root/root/keepsake/_artifacts" "$work/artifacts" && log "the UI tests' screenshots and logs: $work/artifacts"
fi
if [ "$rc" -eq 0 ]; then
  log "PASS: CI=true bash .ci/run passed on a fresh Debian 12 root in $((d / 60)) min $((d % 60)) s (commit $src_sha)"
else
  log "FAIL: CI=true bash .ci/run exited $rc after $((d / 60)) min $((d % 60)) s (commit $src_sha)"
fi
exit "$rc"
