// Produces test/fixtures/serf/key-queries.json: the answers real Serf (Debian's
// serf 0.9.4 sources, memberlist 0.2.2) gives to its key queries. Not part of the
// build or the tests; run.sh says how it is run.
//
// Two in-process Serf nodes on loopback, "asker" and "responder", form a cluster;
// the asker sends each key query through Serf's public Query() (what KeyManager does
// inside `serf keys`), and the responder's real internal-query handler answers.
// The response payload recorded is exactly what the responder put on the wire
// (messageKeyResponseType + msgpack nodeKeyResponse). Request payloads are built here
// with Serf's codec (go-msgpack's MsgpackHandle) from a struct of keyRequest's shape,
// as Serf's KeyManager builds them; some are broken on purpose.
package main

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"os"
	"time"

	"github.com/hashicorp/go-msgpack/codec"
	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/serf"
)

// keyRequest has the shape of serf's unexported keyRequest.
type keyRequest struct {
	Key []byte
}

const messageKeyRequestType = 7

type ringState struct {
	Keys    []string `json:"keys"`
	Primary string   `json:"primary"`
}

type vector struct {
	Note       string    `json:"note"`
	Query      string    `json:"query"`
	RequestHex string    `json:"requestHex"`
	Before     ringState `json:"before"`
	// The responder's answer, as Serf's keymanager receives it.
	ResponseHex string    `json:"responseHex"`
	After       ringState `json:"after"`
	Encrypted   bool      `json:"encrypted"`
}

func msgpack(v interface{}) []byte {
	var buf bytes.Buffer
	if err := codec.NewEncoder(&buf, &codec.MsgpackHandle{}).Encode(v); err != nil {
		log.Fatal(err)
	}
	return buf.Bytes()
}

func request(key []byte) []byte {
	return append([]byte{messageKeyRequestType}, msgpack(keyRequest{Key: key})...)
}

func state(k *memberlist.Keyring) ringState {
	s := ringState{Keys: []string{}}
	if k == nil {
		return s
	}
	for _, b := range k.GetKeys() {
		s.Keys = append(s.Keys, base64.StdEncoding.EncodeToString(b))
	}
	s.Primary = base64.StdEncoding.EncodeToString(k.GetPrimaryKey())
	return s
}

func makeSerf(name, addr string, port int, ring *memberlist.Keyring) *serf.Serf {
	conf := serf.DefaultConfig()
	conf.NodeName = name
	conf.LogOutput = io.Discard
	conf.MemberlistConfig = memberlist.DefaultLANConfig()
	conf.MemberlistConfig.Name = name
	conf.MemberlistConfig.BindAddr = addr
	conf.MemberlistConfig.BindPort = port
	conf.MemberlistConfig.AdvertiseAddr = addr
	conf.MemberlistConfig.AdvertisePort = port
	conf.MemberlistConfig.LogOutput = io.Discard
	if ring != nil {
		conf.MemberlistConfig.Keyring = ring
	}
	s, err := serf.Create(conf)
	if err != nil {
		log.Fatal(err)
	}
	return s
}

func key(b byte, n int) []byte {
	k := make([]byte, n)
	for i := range k {
		k[i] = b + byte(i)
	}
	return k
}

type pair struct {
	asker, responder *serf.Serf
	ring             *memberlist.Keyring
	encrypted        bool
}

func newPair(base string, primary []byte) *pair {
	var ra, rr *memberlist.Keyring
	if primary != nil {
		var err error
		if ra, err = memberlist.NewKeyring(nil, append([]byte(nil), primary...)); err != nil {
			log.Fatal(err)
		}
		if rr, err = memberlist.NewKeyring(nil, append([]byte(nil), primary...)); err != nil {
			log.Fatal(err)
		}
	}
	a := makeSerf("asker", base+"1", 7946, ra)
	r := makeSerf("responder", base+"2", 7946, rr)
	if _, err := a.Join([]string{base + "2:7946"}, true); err != nil {
		log.Fatal(err)
	}
	for a.NumNodes() < 2 || r.NumNodes() < 2 {
		time.Sleep(50 * time.Millisecond)
	}
	return &pair{asker: a, responder: r, ring: rr, encrypted: primary != nil}
}

// ask sends one key query from the asker; every node answers (the asker too, so
// both keyrings stay alike), and the responder's answer is kept.
func (p *pair) ask(note, query string, payload []byte) vector {
	v := vector{Note: note, Query: query, RequestHex: hex.EncodeToString(payload), Before: state(p.ring), Encrypted: p.encrypted}
	resp, err := p.asker.Query(query, payload, &serf.QueryParam{Timeout: 3 * time.Second})
	if err != nil {
		log.Fatal(err)
	}
	for r := range resp.ResponseCh() {
		if r.From == "responder" {
			v.ResponseHex = hex.EncodeToString(r.Payload)
			break
		}
	}
	if v.ResponseHex == "" {
		log.Fatalf("%s: no answer from the responder", note)
	}
	// Let the asker's own handler finish too.
	time.Sleep(200 * time.Millisecond)
	v.After = state(p.ring)
	return v
}

func main() {
	k1, k2, k3 := key(0x10, 16), key(0x40, 32), key(0x80, 24)
	var out []vector
	p := newPair("127.0.122.20", k1)
	out = append(out,
		p.ask("list: one key", "_serf_list-keys", request(nil)),
		p.ask("install a new 32-byte key", "_serf_install-key", request(k2)),
		p.ask("install a key already installed (no-op)", "_serf_install-key", request(k2)),
		p.ask("install a 5-byte key", "_serf_install-key", request(key(1, 5))),
		p.ask("install a request without Key", "_serf_install-key", append([]byte{7}, msgpack(map[string]interface{}{})...)),
		p.ask("list: two keys", "_serf_list-keys", request(nil)),
		p.ask("use a key not installed", "_serf_use-key", request(k3)),
		p.ask("remove the primary key", "_serf_remove-key", request(k1)),
		p.ask("remove a key not installed (no-op)", "_serf_remove-key", request(k3)),
		p.ask("remove a 5-byte key (no-op)", "_serf_remove-key", request(key(1, 5))),
		p.ask("use the second key", "_serf_use-key", request(k2)),
		p.ask("use the primary key again (no-op)", "_serf_use-key", request(k2)),
		p.ask("list: new primary first", "_serf_list-keys", request(nil)),
		p.ask("install a 24-byte key", "_serf_install-key", request(k3)),
		p.ask("remove the old primary, now secondary", "_serf_remove-key", request(k1)),
		p.ask("list: after rotation", "_serf_list-keys", request(nil)),
		// Broken requests: Serf answers Result false with an empty Message.
		p.ask("install: only the type byte", "_serf_install-key", []byte{7}),
		p.ask("install: body is not a map", "_serf_install-key", append([]byte{7}, msgpack(5)...)),
		p.ask("install: Key is an integer", "_serf_install-key", append([]byte{7}, msgpack(map[string]interface{}{"Key": 12})...)),
		p.ask("install: truncated map", "_serf_install-key", request(k1)[:10]),
		p.ask("use: truncated map", "_serf_use-key", request(k1)[:10]),
		p.ask("remove: truncated map", "_serf_remove-key", request(k1)[:10]),
		p.ask("install: Key in an array (struct as array)", "_serf_install-key", append([]byte{7}, msgpack([]interface{}{k1})...)),
		p.ask("install: an extra field is ignored", "_serf_install-key", append([]byte{7}, msgpack(map[string]interface{}{"Key": k1, "Zzz": 1})...)),
		p.ask("list: the payload is not read", "_serf_list-keys", []byte{7, 0xc1}),
		p.ask("list: after the broken requests", "_serf_list-keys", request(nil)),
	)
	// Many keys (installed cluster-wide through Serf's own KeyManager): the list
	// answer is cut to fit Serf's 1024-byte response limit.
	for i := 0; i < 44; i++ {
		k := key(byte(0x20+i), 16)
		if _, err := p.asker.KeyManager().InstallKey(base64.StdEncoding.EncodeToString(k)); err != nil {
			log.Fatal(err)
		}
	}
	out = append(out, p.ask("list: 47 keys, cut to fit", "_serf_list-keys", request(nil)))
	p.asker.Shutdown()
	p.responder.Shutdown()

	q := newPair("127.0.122.21", nil)
	out = append(out,
		q.ask("no encryption: list", "_serf_list-keys", request(nil)),
		q.ask("no encryption: install", "_serf_install-key", request(k1)),
		q.ask("no encryption: use", "_serf_use-key", request(k1)),
		q.ask("no encryption: remove", "_serf_remove-key", request(k1)),
		q.ask("no encryption: a broken install is a decode failure first", "_serf_install-key", []byte{7}),
	)
	q.asker.Shutdown()
	q.responder.Shutdown()

	doc := map[string]interface{}{
		"source":  "scripts/serf-key-vectors/main.go against Debian's golang-github-hashicorp-serf-dev 0.9.4~ds1-1, memberlist 0.2.2-2, go-msgpack 0.5.5-1",
		"vectors": out,
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		log.Fatal(err)
	}
	fmt.Fprintf(os.Stderr, "%d vectors\n", len(out))
}
