#!/bin/sh
# Regenerates test/fixtures/serf/query-vectors.json from Debian's serf sources
# (golang-github-hashicorp-serf-dev and its dependencies under /usr/share/gocode).
# The serf package is copied to a scratch GOPATH so that vectors.go.in can call its
# unexported encoders; nothing here is part of the build or the tests.
set -e
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../../test/fixtures/serf/query-vectors.json"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/github.com/hashicorp/serf" "$tmp/src/serf-query-vectors"
cp -r /usr/share/gocode/src/github.com/hashicorp/serf/serf "$tmp/src/github.com/hashicorp/serf/"
cp -r /usr/share/gocode/src/github.com/hashicorp/serf/coordinate "$tmp/src/github.com/hashicorp/serf/"
cp "$here/vectors.go.in" "$tmp/src/github.com/hashicorp/serf/serf/zz_query_vectors.go"
cp "$here/main.go" "$tmp/src/serf-query-vectors/"
cd "$tmp/src/serf-query-vectors"
GO111MODULE=off GOPATH="$tmp:/usr/share/gocode" GOCACHE="$tmp/cache" GOFLAGS=-mod=mod go run . > "$out"
echo "wrote $out"
