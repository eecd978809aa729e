#!/usr/bin/env bash
# check-po.sh: the translations are current and complete (run by
# build-aux/test.sh and meson test):
#  1. po/keepsake.pot is what `meson compile keepsake-pot` makes of the
#     sources today (the same msgids, references aside): a string marked
#     but not extracted, or changed without regenerating, fails;
#  2. every Go file that calls i18n.T, i18n.N or i18n.P, and every .ui
#     file with a translatable property, is listed in po/POTFILES;
#  3. every language in po/LINGUAS compiles with `msgfmt --check` (format
#     strings keep their verbs, plural forms are well-formed) and is
#     complete: every msgid of the .pot translated, none fuzzy;
#  4. the translated desktop files and metainfo (meson's merge_file) still
#     pass desktop-file-validate and appstreamcli validate.
# Needs gettext (xgettext, msgfmt, msgcmp), meson and ninja; with CI=true a
# missing tool fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD

for tool in xgettext msgfmt msgcmp meson ninja; do
  if ! command -v "$tool" >/dev/null; then
    msg="check-po: $tool is missing (Debian: gettext, meson, ninja-build; build-aux/deps.sh installs them)"
    if [ "${CI:-}" = true ]; then echo "$msg" >&2; exit 1; fi
    echo "$msg: skipped" >&2; exit 0
  fi
done

tmp=$(mktemp -d)
cp po/keepsake.pot "$tmp/committed.pot"
trap 'cp "$tmp/committed.pot" "$top/po/keepsake.pot"; rm -rf "$tmp"' EXIT
fail=0

# 1. The .pot is current. meson's pot target writes po/keepsake.pot in the
# source tree: the committed one is put back on exit either way.
meson setup "$tmp/build" >"$tmp/setup.log" 2>&1 || { cat "$tmp/setup.log" >&2; exit 1; }
meson compile -C "$tmp/build" keepsake-pot >"$tmp/pot.log" 2>&1 || { cat "$tmp/pot.log" >&2; exit 1; }
cp po/keepsake.pot "$tmp/fresh.pot"
ids() { msgcat --no-location --no-wrap --sort-output "$1" | sed '/^"POT-Creation-Date:/d'; }
if ! diff -u <(ids "$tmp/committed.pot") <(ids "$tmp/fresh.pot") >"$tmp/pot.diff"; then
  echo "check-po: po/keepsake.pot is out of date: run 'meson compile -C BUILD keepsake-pot keepsake-update-po' and translate what is new:" >&2
  cat "$tmp/pot.diff" >&2
  fail=1
fi

# 2. Every file with marked text is listed.
listed=$(grep -v '^#' po/POTFILES | sed '/^$/d' | sort)
marked=$( { grep -rlE --include='*.go' --exclude='*_test.go' '\bi18n\.(T|N|P|Noop)\(' app service shared || true
            grep -rl --include='*.ui' 'translatable="yes"' app || true; } | sort)
missing=$(comm -13 <(printf '%s\n' "$listed") <(printf '%s\n' "$marked") | sed '/^$/d')
if [ -n "$missing" ]; then
  echo "check-po: these files have text to translate but are not in po/POTFILES:" >&2
  printf '  %s\n' $missing >&2
  fail=1
fi
for f in $listed; do
  [ -e "$f" ] || { echo "check-po: po/POTFILES lists $f, which does not exist" >&2; fail=1; }
done

# 3. Every language compiles and is complete.
for lang in $(grep -v '^#' po/LINGUAS); do
  po=po/$lang.po
  if ! stats=$(LC_ALL=C msgfmt --check --statistics -o /dev/null "$po" 2>&1); then
    echo "check-po: $po does not compile:" >&2; echo "$stats" >&2; fail=1; continue
  fi
  case "$stats" in
    *fuzzy*|*untranslated*) echo "check-po: $po is not complete: $stats" >&2; fail=1 ;;
  esac
  if ! msgcmp "$po" "$tmp/fresh.pot" 2>"$tmp/cmp.log"; then
    echo "check-po: $po lacks messages of the .pot (run keepsake-update-po and translate them):" >&2
    cat "$tmp/cmp.log" >&2; fail=1
  fi
done

# 4. The merged data files are still valid.
if command -v desktop-file-validate >/dev/null && command -v appstreamcli >/dev/null; then
  ninja -C "$tmp/build" >"$tmp/data.log" 2>&1 \
    data/io.github.keepsake.Keepsake.desktop data/autostart/io.github.keepsake.Keepsake.desktop \
    data/io.github.keepsake.Keepsake.metainfo.xml data/io.github.keepsake.keepsake1.policy \
    || { cat "$tmp/data.log" >&2; exit 1; }
  desktop-file-validate "$tmp/build/data/io.github.keepsake.Keepsake.desktop" "$tmp/build/data/autostart/io.github.keepsake.Keepsake.desktop" || fail=1
  appstreamcli validate --no-net --pedantic "$tmp/build/data/io.github.keepsake.Keepsake.metainfo.xml" >"$tmp/as.log" 2>&1 || { cat "$tmp/as.log" >&2; fail=1; }
  xmllint --noout --nonet "$tmp/build/data/io.github.keepsake.keepsake1.policy" || fail=1
  for lang in $(grep -v '^#' po/LINGUAS); do
    grep -q "^Name\[$lang\]=" "$tmp/build/data/io.github.keepsake.Keepsake.desktop" \
      || { echo "check-po: the desktop file has no Name[$lang]" >&2; fail=1; }
    grep -q "xml:lang=\"$lang\"" "$tmp/build/data/io.github.keepsake.keepsake1.policy" \
      || { echo "check-po: the polkit policy has no $lang messages" >&2; fail=1; }
  done
elif [ "${CI:-}" = true ]; then
  echo "check-po: desktop-file-validate or appstreamcli is missing" >&2; exit 1
fi

[ "$fail" = 0 ] && echo "check-po: translations current and complete ($(grep -vc '^#' po/LINGUAS) languages)"
exit "$fail"
