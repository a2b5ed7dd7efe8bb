# Shared by the benchmark scripts (sourced, not run): building, generating corpora,
# timing, and putting inputs into the page cache.

command -v python3 >/dev/null || { echo "$0: needs python3" >&2; exit 2; }
[ -x /usr/bin/time ] || { echo "$0: needs GNU time (apt-get install time)" >&2; exit 2; }
python3 -c 'import duckdb' 2>/dev/null || pip install --quiet duckdb

DATA=${DATA:-bench-data}
THREADS=${THREADS:-$(nproc)}
cargo build --release --quiet --bin leakmatch --example gencorpus
LM=target/release/leakmatch
GEN=target/release/examples/gencorpus

# corpus CUSTOMERS LINES: the directory of gencorpus's corpus of that size, made if
# missing. Corpora with the same customers share one customers.csv (the generator
# makes the same customers whatever the dump): the first one made holds the file,
# the others a symlink to it.
corpus() {
  local c=$1 l=$2 dir="$DATA/c$1-l$2"
  if [ ! -f "$dir/expected_ids.txt" ]; then
    local holder
    holder=$(find "$DATA" -maxdepth 2 -type f -path "$DATA/c$c-l*/customers.csv" 2>/dev/null | head -1)
    if [ -n "$holder" ]; then
      "$GEN" --customers "$c" --lines "$l" --out "$dir" --skip-customers-file >&2
      ln -sf "../$(basename "$(dirname "$holder")")/customers.csv" "$dir/customers.csv"
    else
      "$GEN" --customers "$c" --lines "$l" --out "$dir" >&2
    fi
  fi
  echo "$dir"
}

# measure FILE NAME CMD...: runs CMD (its stdout dropped), appends
# "NAME seconds max_rss_kb" to FILE.
measure() {
  local file=$1 name=$2; shift 2
  /usr/bin/time -f "%e %M" -o "$file.time" "$@" >/dev/null
  echo "$name $(cat "$file.time")" >> "$file"
  rm -f "$file.time"
}

# recache FILE...: every input in the same state for every tool and every run of a
# script: dropped from the page cache and read back whole. (How a file got into the
# cache changes how it is held there: this kernel keeps a file read from disk in
# 2 MiB folios, but one just written in small ones, which costs a mapping reader
# like leakmatch ~5% more page-fault time.)
recache() {
  sync
  python3 - "$@" <<'PY'
import os, sys
for path in sys.argv[1:]:
    fd = os.open(path, os.O_RDONLY)
    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
    while os.read(fd, 1 << 20):
        pass
    os.close(fd)
PY
}
