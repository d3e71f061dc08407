// Writes test/fixtures/serf/query-vectors.json: Serf 0.9.4's query, query response,
// relay, filter and conflict-response messages, each encoded by Serf's own code
// (run.sh adds vectors.go.in to a scratch copy of Debian's serf package).
package main

import (
	"encoding/json"
	"os"

	"github.com/hashicorp/serf/serf"
)

func main() {
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(map[string]interface{}{"serf": "0.9.4 (Debian golang-github-hashicorp-serf-dev)", "vectors": serf.QueryVectors()}); err != nil {
		panic(err)
	}
}
