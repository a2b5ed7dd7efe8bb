#!/usr/bin/env bash
# End-to-end comparison: leakmatch against the tools a security team would otherwise
# reach for, on one generated corpus, timed in one run (median of RUNS).
#
#   benches/compare.sh            # 1M SHA-1 customers, 20M dump lines (~800 MB)
#   RUNS=5 CUSTOMERS=100000 LINES=2000000 benches/compare.sh   # smaller/longer
#
# Bigger customer sets: benches/scale.sh. Needs: a Rust toolchain, python3 (duckdb
# is pip-installed if missing), mawk, GNU time (/usr/bin/time). Data goes to
# bench-data/ (git-ignored), results to stdout; the committed numbers are in
# BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
source benches/common.sh

command -v mawk >/dev/null || { echo "compare.sh: needs mawk (apt-get install mawk)" >&2; exit 2; }
RUNS=${RUNS:-3}
CUSTOMERS=${CUSTOMERS:-1000000}
LINES=${LINES:-20000000}

corpus=$(corpus "$CUSTOMERS" "$LINES")
out="$DATA/out"
mkdir -p "$out"
C="$corpus/customers.csv"
D="$corpus/dump.txt"
"$LM" index --quiet --customers "$C" -o "$corpus/customers.lmx"

: > "$out/times"
recache "$C" "$D" "$corpus/customers.lmx"
for run in $(seq "$RUNS"); do
  measure "$out/times" "leakmatch(-j$THREADS)" "$LM" scan --quiet -j "$THREADS" --customers "$C" --format ids -o "$out/lm.ids" "$D"
  measure "$out/times" "leakmatch(-j1)" "$LM" scan --quiet -j 1 --customers "$C" --format ids -o "$out/lm1.ids" "$D"
  measure "$out/times" "leakmatch(--index)" "$LM" scan --quiet -j "$THREADS" --index "$corpus/customers.lmx" --format ids -o "$out/lmx.ids" "$D"
  measure "$out/times" "duckdb" python3 benches/duck_join.py "$C" "$D" "$out/duck.ids" "$THREADS"
  measure "$out/times" "mawk-login-join" sh -c "mawk -F: 'NR==FNR { split(\$0, a, \",\"); c[tolower(a[2])] = a[1]; next } { l = tolower(\$1); if (l in c) print c[l] }' '$C' '$D' | sort -u > '$out/awk.ids'"
  measure "$out/times" "wc-l" wc -l "$D"
done

# Correctness: leakmatch and DuckDB must agree with each other and with the generator.
for f in lm lm1 lmx duck; do
  if ! cmp -s "$out/$f.ids" "$corpus/expected_ids.txt"; then
    echo "compare.sh: $f.ids differs from the generator's expected ids" >&2
    exit 1
  fi
done

bytes=$(stat -c %s "$D")
echo
echo "corpus: $CUSTOMERS customers, $LINES lines, $((bytes / 1000000)) MB; $(nproc) cores; $RUNS runs; ids checked: leakmatch == duckdb == expected ($(wc -l < "$corpus/expected_ids.txt") accounts)"
python3 - "$out/times" "$bytes" "leakmatch(-j$THREADS)" <<'PY'
import sys, statistics, collections
path, size, ref = sys.argv[1], int(sys.argv[2]), sys.argv[3]
runs = collections.OrderedDict()
for line in open(path):
    name, secs, rss = line.split()
    runs.setdefault(name, []).append((float(secs), int(rss)))
med = {k: statistics.median(s for s, _ in v) for k, v in runs.items()}
print(f"| tool | median s | min–max s | MB/s | max RSS MB | time vs leakmatch |")
print(f"|---|---:|---:|---:|---:|---:|")
for k, v in runs.items():
    secs = [s for s, _ in v]
    rss = max(r for _, r in v) / 1024
    print(f"| {k} | {med[k]:.2f} | {min(secs):.2f}–{max(secs):.2f} | {size / 1e6 / med[k]:.0f} | {rss:.0f} | {med[k] / med[ref]:.2f}x |")
# The issue's targets, on the medians and run by run (each run times the tools one
# after the other, minutes apart: the VM's speed can change in between).
idx, duck, wc = (runs.get(k) for k in ("leakmatch(--index)", "duckdb", "wc-l"))
if idx and duck and wc:
    per_duck = ", ".join(f"{d / i:.1f}x" for (i, _), (d, _) in zip(idx, duck))
    per_wc = ", ".join(f"{i / w:.1f}x" for (i, _), (w, _) in zip(idx, wc))
    print()
    print(f"--index vs DuckDB (target >= 15x faster): {med['duckdb'] / med['leakmatch(--index)']:.1f}x on the medians; by run {per_duck}")
    print(f"--index vs wc -l (target <= 5x the time): {med['leakmatch(--index)'] / med['wc-l']:.1f}x on the medians; by run {per_wc}")
PY

