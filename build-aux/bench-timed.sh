# Sourced by the benchmark scripts: the one timer they share.
#
# timed NAME CMD...: wall time of CMD plus a sync into T[NAME]; with CMD
# starting with K, keepsakectl ($work/keepsakectl) is run with the rest
# and its peak RSS (KiB) goes into RSS[NAME]. The output is in
# $work/out.NAME; a failure prints it and exits. $cold=1 drops the page
# cache first; $timed_width is the name column's width.
declare -A T RSS
timed() {
  local name=$1; shift
  sync
  if [ "$cold" = 1 ]; then echo 3 > /proc/sys/vm/drop_caches; fi
  local start end
  start=$(date +%s.%N)
  if [ "$1" = K ]; then
    shift
    /usr/bin/time -f %M -o "$work/rss" "$work/keepsakectl" "$@" >"$work/out.$name" 2>&1 || { cat "$work/out.$name"; exit 1; }
    RSS[$name]=$(tail -1 "$work/rss")
  else
    "$@" >"$work/out.$name" 2>&1 || { cat "$work/out.$name"; exit 1; }
  fi
  sync
  end=$(date +%s.%N)
  T[$name]=$(printf "%.6f" "$(echo "$end - $start" | bc -l)")
  printf "  %-${timed_width:-22}s %8.3f s\n" "$name" "${T[$name]}"
}
