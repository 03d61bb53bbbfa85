#!/usr/bin/env bash
# Fetches the real-page corpus (tests/corpus/pages.json) into tests/corpus/pages/, outside git:
# Debian documentation packages (downloaded with `apt-get download` and unpacked with
# `dpkg-deb -x`, never installed: nodejs-doc conflicts with the machine's Node.js) and npm
# packages (`npm pack` at pinned versions, checked against their registry integrity). Only our
# own features page (tests/corpus/features) lives in the repository.
#
#   tests/corpus/fetch.sh [DIR]     (default tests/corpus/pages; TANDEM_CORPUS overrides)
#
# Idempotent: a second run with everything in place returns at once. Anything missing, or a
# package that cannot be fetched, fails the run.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
dest="${1:-${TANDEM_CORPUS:-$here/pages}}"
mkdir -p "$dest"
dest="$(cd "$dest" && pwd)"

# The Debian packages: the pages, and what their pages link to (the reference's stylesheet and
# images, the jQuery and Underscore the Python docs' symlinks point at).
DEBS=(python3.11-doc libjs-jquery libjs-underscore postgresql-doc-15 debian-reference-en
  debian-reference-common sqlite3-doc git-doc nodejs-doc)
# The npm packages, at fixed versions, with their registry integrity.
NPMS=(
  "todomvc@0.1.1 sha512-gd6+DoObD0yzXEpbvHvkSoOd9/krxd/wvUTbzvKe7uTjAM2v9wG6zy4Icl6aUcMpDof53Cz2l5O/9mdN3Jk+ag=="
  "reveal.js@6.0.2 sha512-JYIg5D9aoxoaLeb84O+OvAwsKWdIavVgEDScxtYEXFCT6t6TQrhNtSgogcjdCpdLsWglhJn3zyE3fUOwiH5KEg=="
  "@fontsource/lobster@5.3.0 sha512-jt+RDk/8Sstl1Omhox62gTbvRSLbh06kn5BNfDFgf4rNuDPHF+19eWYFxzq5FsdkalbRJNtc5p5C3qE0+leNVg=="
)

# What a complete corpus is: this script, the page list and our page, hashed.
stamp="$(cat "$0" "$here/pages.json" "$here"/features/* | sha256sum | cut -c1-16)"

# Every page of the list is there (and the stamp matches): exit 0, else print what is missing.
check() {
  node - "$here/pages.json" "$dest" <<'EOF'
const { readFileSync, existsSync } = require('node:fs')
const { join } = require('node:path')
const [, , list, dest] = process.argv
const missing = JSON.parse(readFileSync(list, 'utf8')).pages
  .map((p) => join(dest, p.root, p.page)).filter((f) => !existsSync(f))
for (const f of missing) console.error(`corpus: missing ${f}`)
process.exit(missing.length ? 1 : 0)
EOF
}

if [ "$(cat "$dest/.stamp" 2>/dev/null)" = "$stamp" ] && check 2>/dev/null; then
  echo "corpus: up to date in $dest"
  exit 0
fi
rm -f "$dest/.stamp"
echo "corpus: fetching into $dest"

# Debian: one tree, so that the packages' relative symlinks resolve inside it.
debs="$dest/.debs"
mkdir -p "$debs"
for pkg in "${DEBS[@]}"; do
  if ! ls "$debs/${pkg}"_*.deb >/dev/null 2>&1; then
    # apt-get download needs package lists; fetch them once if this machine has none.
    if ! apt-cache show "$pkg" >/dev/null 2>&1; then
      apt-get update -qq || { echo "corpus: apt-get update failed" >&2; exit 1; }
    fi
    (cd "$debs" && apt-get download -qq "$pkg" 2>&1 | grep -v '^W: Download is performed unsandboxed' || true)
    ls "$debs/${pkg}"_*.deb >/dev/null 2>&1 || { echo "corpus: apt-get download $pkg failed" >&2; exit 1; }
  fi
done
rm -rf "$dest/debian"
mkdir -p "$dest/debian"
for deb in "$debs"/*.deb; do
  dpkg-deb -x "$deb" "$dest/debian"
done

# npm: each package unpacked into npm/<name>, after checking its integrity.
tgz="$dest/.npm"
mkdir -p "$tgz"
for spec in "${NPMS[@]}"; do
  read -r id integrity <<<"$spec"
  name="${id%@*}"
  file="$tgz/$(echo "$name" | tr -d @ | tr / -)-${id##*@}.tgz"
  if [ ! -f "$file" ]; then
    (cd "$tgz" && npm pack --silent "$id" >/dev/null) || { echo "corpus: npm pack $id failed" >&2; exit 1; }
  fi
  got="sha512-$(node -e 'process.stdout.write(require("node:crypto").createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$file")"
  if [ "$got" != "$integrity" ]; then
    rm -f "$file"
    echo "corpus: $id has integrity $got, expected $integrity" >&2
    exit 1
  fi
  rm -rf "$dest/npm/$name"
  mkdir -p "$dest/npm/$name"
  tar -xzf "$file" -C "$dest/npm/$name" --strip-components=1
done

# Our features page, with the web font from @fontsource/lobster beside it.
rm -rf "$dest/features"
mkdir -p "$dest/features/fonts"
cp "$here"/features/* "$dest/features/"
cp "$dest/npm/@fontsource/lobster/files/lobster-latin-400-normal.woff2" "$dest/features/fonts/"

check || { echo "corpus: incomplete" >&2; exit 1; }
echo "$stamp" >"$dest/.stamp"
echo "corpus: ready in $dest"
