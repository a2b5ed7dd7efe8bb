#!/usr/bin/env bash
# Regenerates the container fixtures with the standard command-line tools
# (gzip, zstd, bzip2, xz, zip) into containers/: bash corpus-samples/make_containers.sh
# Logins and passwords are those of corpus-samples/customers.csv:
#   alice@example.com / secret (acct-0001), Bob.Smith@Example.com / hunter2 (acct-0002)
set -euo pipefail
cd "$(dirname "$0")/containers"
rm -f ./*.zst ./*.bz2 ./*.xz ./*.gz ./*.zip
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

printf 'nobody@example.net:x\nalice@example.com:secret\n' > "$tmp/zstd.txt"
zstd -q -19 "$tmp/zstd.txt" -o dump-zstd.txt.zst

printf 'nobody@example.net:x\nnobody2@example.net:y\nBOB.SMITH@example.com:hunter2\n' > "$tmp/bz.txt"
# Two concatenated bzip2 streams: both must be read.
printf 'filler@example.net:z\n' | bzip2 -c > dump-bzip2.txt.bz2
bzip2 -c "$tmp/bz.txt" >> dump-bzip2.txt.bz2

printf 'email,password\nalice@example.com,secret\n' > "$tmp/xz.csv"
xz -c "$tmp/xz.csv" > dump-xz.csv.xz

mkdir -p "$tmp/zip/inner"
printf 'a@example.net:1\nalice@example.com:wrong\nalice@example.com:secret\n' > "$tmp/zip/inner/a.txt"
printf 'username,pwd\nbob.smith@example.com,hunter2\n' > "$tmp/zip/inner/b.csv"
printf 'x@example.net:2\nbob.smith@example.com:hunter2\n' | gzip -n -c > "$tmp/zip/c.txt.gz"
(cd "$tmp/zip" && zip -q -X -r archive.zip inner c.txt.gz)
mv "$tmp/zip/archive.zip" dump-archive.zip

# Damaged inputs: a gzip cut short after its first lines, a "zip" that is not one.
for i in $(seq 1 2000); do printf 'filler%d@example.net:password%d\n' "$i" "$i"; done > "$tmp/long.txt"
printf 'alice@example.com:secret\n' >> "$tmp/long.txt"
{ printf 'bob.smith@example.com:hunter2\n'; cat "$tmp/long.txt"; } | gzip -n -c > "$tmp/t.gz"
head -c 2000 "$tmp/t.gz" > damaged-truncated.txt.gz
printf 'PK\003\004 this is not really a zip archive\n' > damaged-notzip.zip
