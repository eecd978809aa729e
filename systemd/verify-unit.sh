#!/bin/sh
# verify-unit.sh SYSTEMD-ANALYZE UNIT.in: runs `systemd-analyze verify` on the
# unit with @libexecdir@ pointing at a stand-in keepsaked (verify requires
# the ExecStart binary to exist). Fails on any diagnostic: systemd-analyze
# exits 0 for unknown or misspelled keys and only prints them.
set -eu
analyze=$1
unit_in=$2
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
printf '#!/bin/sh\nexit 0\n' >"$dir/keepsaked"
chmod 755 "$dir/keepsaked"
sed "s|@libexecdir@|$dir|g" "$unit_in" >"$dir/keepsake.service"
if ! "$analyze" verify "$dir/keepsake.service" >"$dir/out" 2>&1 || [ -s "$dir/out" ]; then
  cat "$dir/out" >&2
  exit 1
fi
