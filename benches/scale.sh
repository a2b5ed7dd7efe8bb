#!/usr/bin/env bash
# Customers at scale: leakmatch and DuckDB doing the same reset job with customers
# {1M, 20M, 100M} x dumps of {1M, 20M} lines. For each cell: `scan --customers`
# (loading the CSV, whichever way the planner picks), `scan --index` (after one
# `index` build per customer count), and DuckDB's SQL join; wall time and peak RSS
# from GNU time; every engine's ids checked against the generator's. One run each
# (RUNS=n for more, medians); every input dropped from the page cache and read
# back before each run.
#
#   benches/scale.sh                                  # the table (~25 GB in bench-data/)
#   CUSTOMERS="1000000 20000000" benches/scale.sh     # a subset
#   benches/scale.sh 300m                             # the 300M-customer index build
#
# The 300M build generates a 22.5 GB CSV and writes a 20 GB index (~45 GB of free
# disk), reports its time, peak RSS, size and the temporary disk it used at peak,
# and deletes both (KEEP=1 keeps them).
#
# Needs: a Rust toolchain, python3 (duckdb is pip-installed if missing), GNU time.
# Raw results are appended to benches/results/scale-DATE.tsv; BENCHMARKS.md holds
# the table and what it shows.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/common.sh

RUNS=${RUNS:-1}
CUSTOMERS=${CUSTOMERS:-"1000000 20000000 100000000"}
LINES=${LINES:-"1000000 20000000"}
MODE=${1:-table}
out="$DATA/out"
mkdir -p "$out" benches/results
raw="benches/results/scale-$(date -u +%Y-%m-%d).tsv"
{
  echo "# $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD) mode $MODE runs $RUNS"
  echo "# $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $(free -g | awk '/^Mem:/ {print $2}') GiB"
} >> "$raw"

if [ "$MODE" = 300m ]; then
  c=300000000
  dir="$DATA/c$c"
  [ -f "$dir/customers.csv" ] || "$GEN" --customers "$c" --lines 0 --out "$dir" >&2
  csv="$dir/customers.csv"
  lmx="$dir/customers.lmx"
  rm -f "$lmx"
  sync
  # Temporary disk in use = the file system's use, less what it held at the
  # start and the index written so far (spill files are unlinked: only `df`
  # sees them).
  base_used=$(df --output=used -B1 "$dir" | tail -1)
  base_dir=$(du -sb "$dir" | cut -f1)
  /usr/bin/time -f "%e %M" -o "$out/300m.time" \
    "$LM" index -j "$THREADS" --customers "$csv" -o "$lmx" 2> "$out/300m.log" &
  pid=$!
  peak=0
  while kill -0 "$pid" 2>/dev/null; do
    used=$(df --output=used -B1 "$dir" | tail -1)
    in_dir=$(du -sb "$dir" 2>/dev/null | cut -f1)
    tmp=$((used - base_used - (in_dir - base_dir)))
    [ "$tmp" -gt "$peak" ] && peak=$tmp
    sleep 1
  done
  wait "$pid"
  read -r secs rss < "$out/300m.time"
  bytes=$(stat -c %s "$lmx")
  csv_bytes=$(stat -c %s "$csv")
  cat "$out/300m.log" >&2
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' 300000000 0 index "$secs" "$rss" "$bytes" "$peak" >> "$raw"
  echo
  echo "300M customers: index in $secs s, peak RSS $((rss / 1024)) MB, $((bytes / 1000000)) MB ($(python3 -c "print(f'{$bytes / $c:.1f}')") bytes a customer; the CSV: $(python3 -c "print(f'{$csv_bytes / $c:.1f}')")), temporary disk at peak ~$((peak / 1000000)) MB"
  [ "${KEEP:-0}" = 1 ] || rm -rf "$dir"
  exit 0
fi

: > "$out/scale"
for c in $CUSTOMERS; do
  dir=$(corpus "$c" "${LINES%% *}")
  csv="$dir/customers.csv"
  lmx="$(dirname "$(readlink -f "$csv")")/customers.lmx"
  recache "$csv"
  measure "$out/scale" "$c 0 index" "$LM" index --quiet -j "$THREADS" --customers "$csv" -o "$lmx"
  echo "$c 0 index_bytes $(stat -c %s "$lmx") $(stat -c %s "$(readlink -f "$csv")")" >> "$out/scale"
  for l in $LINES; do
    dir=$(corpus "$c" "$l")
    d="$dir/dump.txt"
    for run in $(seq "$RUNS"); do
      recache "$csv" "$d" "$lmx"
      measure "$out/scale" "$c $l scan_customers" \
        "$LM" scan --quiet -j "$THREADS" --customers "$csv" --format ids -o "$out/lm.ids" "$d"
      measure "$out/scale" "$c $l scan_index" \
        "$LM" scan --quiet -j "$THREADS" --index "$lmx" --format ids -o "$out/lmx.ids" "$d"
      measure "$out/scale" "$c $l duckdb" python3 benches/duck_join.py "$csv" "$d" "$out/duck.ids" "$THREADS"
      measure "$out/scale" "$c $l wc_l" wc -l "$d"
      for f in lm lmx duck; do
        if ! cmp -s "$out/$f.ids" "$dir/expected_ids.txt"; then
          echo "scale.sh: $f.ids ($c customers, $l lines) differs from the generator's expected ids" >&2
          exit 1
        fi
      done
    done
    echo "$c $l dump_bytes $(stat -c %s "$d") 0" >> "$out/scale"
  done
done
tr ' ' '\t' < "$out/scale" >> "$raw"

echo
echo "ids checked: leakmatch (both ways) == DuckDB == the generator's, every cell; $(nproc) CPUs; $RUNS run(s) a cell"
python3 - "$out/scale" <<'PY'
import sys, statistics, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    c, l, tool, a, b = line.split()
    runs[(int(c), int(l), tool)].append((float(a), int(b)))
def med(c, l, tool):
    v = runs.get((c, l, tool))
    return (statistics.median(s for s, _ in v), max(r for _, r in v) / 1024) if v else None
def cell(c, l, tool):
    m = med(c, l, tool)
    return f"{m[0]:.2f} s, {m[1]:.0f} MB" if m else "—"
name = lambda n: f"{n // 1_000_000}M"
cs = sorted({c for c, _, _ in runs})
ls = sorted({l for _, l, _ in runs if l})
print("| customers | dump | `scan --customers` | `scan --index` | DuckDB | DuckDB ÷ `--customers` | `--customers` ÷ `wc -l` |")
print("|---|---|---:|---:|---:|---:|---:|")
for c in cs:
    for l in ls:
        lm, duck, wc = med(c, l, "scan_customers"), med(c, l, "duckdb"), med(c, l, "wc_l")
        if not lm:
            continue
        by_wc = f"{lm[0] / wc[0]:.1f}x" if wc and wc[0] >= 0.01 else "—"
        print(f"| {name(c)} | {name(l)} lines | {cell(c, l, 'scan_customers')} | {cell(c, l, 'scan_index')} "
              f"| {cell(c, l, 'duckdb')} | {duck[0] / lm[0]:.1f}x | {by_wc} |")
print()
print("| customers | `index` | peak RSS | index size | bytes a customer (CSV) |")
print("|---|---:|---:|---:|---:|")
for c in cs:
    i = med(c, 0, "index")
    size, csv = runs[(c, 0, "index_bytes")][0]
    print(f"| {name(c)} | {i[0]:.1f} s | {i[1]:.0f} MB | {size / 1e6:.0f} MB | {size / c:.1f} ({csv / c:.1f}) |")
print()
def target(text, ok):
    print(f"- [{'met' if ok else 'NOT met'}] {text}")
M = 1_000_000
lm, duck, wc = med(M, 20 * M, "scan_customers"), med(M, 20 * M, "duckdb"), med(M, 20 * M, "wc_l")
if lm:
    target(f"1M customers + 20M lines from the CSV: {duck[0] / lm[0]:.1f}x faster than DuckDB (>= 15x)", duck[0] / lm[0] >= 15)
    target(f"... and {lm[0] / wc[0]:.1f}x `wc -l` (<= 5x)", lm[0] / wc[0] <= 5)
lm, duck = med(20 * M, M, "scan_customers"), med(20 * M, M, "duckdb")
if lm:
    target(f"20M customers + 1M lines, `scan --customers`: {duck[0] / lm[0]:.1f}x faster than DuckDB (>= 5x)", duck[0] / lm[0] >= 5)
    target(f"... peak RSS {lm[1]:.0f} MB, DuckDB's {duck[1]:.0f} MB (no more)", lm[1] <= duck[1])
for c, limit, rss in ((20 * M, 8, None), (100 * M, 60, 3 * 1024)):
    i = med(c, 0, "index")
    if i:
        target(f"`index` of {name(c)} in {i[0]:.1f} s (< {limit} s)", i[0] < limit)
        if rss:
            target(f"... peak RSS {i[1]:.0f} MB (< {rss} MB)", i[1] < rss)
small, big = med(M, 20 * M, "scan_index"), med(100 * M, 20 * M, "scan_index")
if small and big:
    target(f"`scan --index`, 20M lines: 100M customers at {small[0] / big[0]:.2f} of the 1M throughput (>= 0.5)", small[0] / big[0] >= 0.5)
    target(f"... peak RSS {big[1]:.0f} MB (< 4096 MB)", big[1] < 4096)
PY
echo
echo "raw results appended to $raw"
