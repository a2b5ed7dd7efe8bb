#!/usr/bin/env bash
# Regenerates the archive fixtures with the standard command-line tools (tar, zip,
# gzip, zstd, xz, bzip2) into archives/: bash corpus-samples/make_archives.sh
# Account aN@x.example has password pw-aN; each leaf holds one account, so a reset
# names the leaf it came from. tests/cli/containers.rs holds the expected list.
set -euo pipefail
cd "$(dirname "$0")"
rm -rf archives && mkdir archives
out=$PWD/archives
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
cred() { printf '%s@x.example:pw-%s\n' "$1" "$1"; }
# Reproducible archives: fixed owner, mode and time, sorted names.
TAR=(tar --sort=name --owner=0 --group=0 --numeric-owner --mtime=@0 --format=gnu)
export TZ=UTC

mkdir -p "$tmp/1/dir" && cred a1 > "$tmp/1/dir/a1.txt"
"${TAR[@]}" -C "$tmp/1" -cf "$out/pack.tar" dir

mkdir -p "$tmp/2/logs" "$tmp/2z"
{ printf 'URL: https://shop.example/login\n'; cred a2; } > "$tmp/2/logs/Passwords.txt"
cred a3 > "$tmp/2z/z.txt"
(cd "$tmp/2z" && TZ=UTC zip -q -X "$tmp/2/logs/inner.zip" z.txt)
"${TAR[@]}" -C "$tmp/2" -czf "$out/pack.tgz" logs

mkdir -p "$tmp/3" && cred a4 | gzip -n > "$tmp/3/c.txt.gz"
"${TAR[@]}" -C "$tmp/3" -cf - c.txt.gz | zstd -q -19 -o "$out/pack.tar.zst"

mkdir -p "$tmp/4" && printf 'email,password\na5@x.example,pw-a5\n' > "$tmp/4/x.csv"
"${TAR[@]}" -C "$tmp/4" -cJf "$out/pack.tar.xz" x.csv

mkdir -p "$tmp/5" && cred a6 > "$tmp/5/b.txt"
"${TAR[@]}" -C "$tmp/5" -cjf "$out/pack.tar.bz2" b.txt

# A zip holding a zip and a tar.
mkdir -p "$tmp/6i/deep" "$tmp/6t" "$tmp/6"
cred a7 > "$tmp/6i/deep/y.txt"
(cd "$tmp/6i" && zip -q -X -r "$tmp/6/inner.zip" deep)
cred a8 > "$tmp/6t/w.txt"
"${TAR[@]}" -C "$tmp/6t" -cf "$tmp/6/t.tar" w.txt
(cd "$tmp/6" && zip -q -X "$out/outer.zip" inner.zip t.tar)

# Five tars deep: four are opened (a10 is found), the fifth is refused (a9 is not).
mkdir -p "$tmp/7/5" "$tmp/7/4" "$tmp/7/3" "$tmp/7/2" "$tmp/7/1"
cred a9 > "$tmp/7/5/e.txt"
"${TAR[@]}" -C "$tmp/7/5" -cf "$tmp/7/4/5.tar" e.txt
cred a10 > "$tmp/7/4/f.txt"
"${TAR[@]}" -C "$tmp/7/4" -cf "$tmp/7/3/4.tar" 5.tar f.txt
"${TAR[@]}" -C "$tmp/7/3" -cf "$tmp/7/2/3.tar" 4.tar
"${TAR[@]}" -C "$tmp/7/2" -cf "$tmp/7/1/2.tar" 3.tar
"${TAR[@]}" -C "$tmp/7/1" -cf "$out/deep.tar" 2.tar

# Formats that are not read: reported, never scanned as text.
printf '7z\274\257\047\034\000\004 a11@x.example:pw-a11\n' > "$out/old.7z"
printf 'Rar!\032\007\000 a11@x.example:pw-a11\n' > "$out/old.rar"
cred a11 | gzip -n > "$out/misnamed.txt"
