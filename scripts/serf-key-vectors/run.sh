#!/bin/sh
# Regenerates test/fixtures/serf/key-queries.json. Needs Go and Debian's golang-github-hashicorp-serf-dev
# (with its dependencies: memberlist, go-msgpack, go-metrics, ...). Binds two Serf
# nodes on 127.0.122.201-202, then two more on 127.0.122.211-212, port 7946.
set -e
here=$(cd "$(dirname "$0")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/src/serf-key-vectors"
cp "$here/main.go" "$tmp/src/serf-key-vectors/"
cd "$tmp/src/serf-key-vectors"
GO111MODULE=off GOPATH="$tmp:/usr/share/gocode" GOCACHE="$tmp/cache" go run . > "$here/../../test/fixtures/serf/key-queries.json"
