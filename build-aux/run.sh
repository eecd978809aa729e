#!/usr/bin/env bash
# Runs Keepsake on a sample folder: init a repository, back up, change and
# move files, back up again, search, look at a file's versions and at what
# changed, verify the drive, and restore the old version beside the new
# one. Everything lives in one temporary folder (or $KEEPSAKE_DEMO_DIR).
set -euo pipefail
cd "$(dirname "$0")/.."
build-aux/deps.sh gcc >/dev/null || true

demo=${KEEPSAKE_DEMO_DIR:-$(mktemp -d /var/tmp/keepsake-demo.XXXXXX)}
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
first=$("$demo/bin/keepsakectl" --repo "$demo/drive" --json snapshots | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["name"])')
ctl versions "$demo/Documents/notes/todo.txt"
ctl diff "$first" latest
ctl verify
ctl restore "$first" "$demo/Documents/notes/todo.txt"
echo "\$ ls $demo/Documents/notes"; ls -l "$demo/Documents/notes"
echo
ctl log
echo "The repository is in $demo/drive/Keepsake: browse it with any file manager."
