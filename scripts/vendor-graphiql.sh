#!/usr/bin/env bash
# Vendor the GraphiQL page's JS/CSS into gateway/graphiql/static/ from the npm registry, so the
# gateway serves GraphiQL with no CDN and no internet.
#
# Pinned on purpose: GraphiQL 3.x is the last line with a UMD build (4/5 are ESM-only) and
# React 18 is the last line with UMD builds (19 dropped them). graphiql@3.9.0's UMD bundle
# already contains graphql-js, CodeMirror 5 and the graphql-ws client (subscriptions); it only
# needs the React/ReactDOM globals.
#
#   scripts/vendor-graphiql.sh           fetch, copy, rewrite VERSIONS.txt, print sha256s
#   scripts/vendor-graphiql.sh --check   fetch and compare with the committed files (exit 1 on drift)
#
# Needs npm and sha256sum. Works in a temporary directory; nothing is written to the repo but
# the vendored files and VERSIONS.txt (our own files in static/, e.g. bootstrap.js, are kept).
set -euo pipefail

GRAPHIQL_VERSION=3.9.0
REACT_VERSION=18.3.1

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
dest="$here/../gateway/graphiql/static"
dest="$(cd "$dest" && pwd)"
check=0
[[ "${1:-}" == "--check" ]] && check=1

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

# package@version, path inside the tarball, name in static/
files=(
  "graphiql@$GRAPHIQL_VERSION package/graphiql.min.js graphiql.min.js"
  "graphiql@$GRAPHIQL_VERSION package/graphiql.min.css graphiql.min.css"
  "graphiql@$GRAPHIQL_VERSION package/LICENSE graphiql.LICENSE"
  "react@$REACT_VERSION package/umd/react.production.min.js react.production.min.js"
  "react@$REACT_VERSION package/LICENSE react.LICENSE"
  "react-dom@$REACT_VERSION package/umd/react-dom.production.min.js react-dom.production.min.js"
  "react-dom@$REACT_VERSION package/LICENSE react-dom.LICENSE"
)

declare -A integrity
for spec in "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION"; do
  # npm pack checks the tarball against the registry's integrity (sha512) itself.
  integrity[$spec]="$(cd "$tmp" && npm pack --silent --json "$spec" 2>/dev/null \
    | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["integrity"])')"
  name="${spec%@*}"
  mkdir -p "$tmp/x/$name"
  tar -xzf "$tmp/$name-${spec##*@}.tgz" -C "$tmp/x/$name"
done

out="$tmp/out"
mkdir -p "$out"
for entry in "${files[@]}"; do
  read -r spec src name <<<"$entry"
  cp "$tmp/x/${spec%@*}/$src" "$out/$name"
done

{
  echo "# Vendored by scripts/vendor-graphiql.sh from the npm registry; do not edit by hand."
  echo "# All three packages are MIT licensed (see *.LICENSE)."
  for spec in "graphiql@$GRAPHIQL_VERSION" "react@$REACT_VERSION" "react-dom@$REACT_VERSION"; do
    echo "package $spec ${integrity[$spec]}"
  done
  echo "# sha256  file  (from package/path)"
  for entry in "${files[@]}"; do
    read -r spec src name <<<"$entry"
    printf '%s  %s  (%s/%s)\n' "$(sha256sum "$out/$name" | cut -d' ' -f1)" "$name" "$spec" "${src#package/}"
  done
} >"$out/VERSIONS.txt"

if (( check )); then
  status=0
  for f in "$out"/*; do
    name="$(basename "$f")"
    if ! cmp -s "$f" "$dest/$name"; then
      echo "drift: gateway/graphiql/static/$name differs from the pinned npm package" >&2
      status=1
    fi
  done
  (( status == 0 )) && echo "gateway/graphiql/static matches the pinned npm packages"
  exit "$status"
fi

cp "$out"/* "$dest/"
grep -v '^#' "$dest/VERSIONS.txt"
du -ch "$dest"/graphiql.min.* "$dest"/react*.js | tail -1 | sed 's/total/total vendored JS+CSS/'
