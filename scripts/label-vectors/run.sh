#!/bin/sh
# Regenerates test/fixtures/memberlist/labels-go.json (then update its sha256 in
# SOURCE.md). Needs Go, Debian's golang-github-hashicorp-memberlist-dev dependencies
# (go-msgpack, go-metrics, go-sockaddr, miekg/dns, btree, go-multierror) and
# golang-github-sean--seed-dev, plus memberlist v0.3.1's source (the first release
# with labels; Debian ships 0.2.2) unpacked at $GOPATH_LABELS/src/github.com/hashicorp/memberlist.
set -e
GOPATH_LABELS=${GOPATH_LABELS:-/tmp/gomlab}
here=$(dirname "$0")
mkdir -p "$GOPATH_LABELS/src/label-vectors"
cp "$here/main.go" "$GOPATH_LABELS/src/label-vectors/"
cd "$GOPATH_LABELS/src/label-vectors"
GO111MODULE=off GOPATH="$GOPATH_LABELS:/usr/share/gocode" GOCACHE="$GOPATH_LABELS/cache" go run .
