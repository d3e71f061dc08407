// Produces test/fixtures/memberlist/labels-go.json: what real Go memberlist 0.3.1 puts
// on the wire with a cluster label, with and without encryption. Not part of the
// build or the tests; run.sh says how it was run. Every byte comes from memberlist's
// own send paths (rawSendMsgPacket, sendLocalState, handleConn) through a transport
// that records instead of sending.
package main

import (
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

// recorder is a memberlist.Transport that keeps what is written to it.
type recorder struct {
	mu      sync.Mutex
	packets [][]byte
	dialed  chan net.Conn
	packetC chan *memberlist.Packet
	streamC chan net.Conn
}

func newRecorder() *recorder {
	return &recorder{dialed: make(chan net.Conn, 4), packetC: make(chan *memberlist.Packet), streamC: make(chan net.Conn, 4)}
}

func (r *recorder) FinalAdvertiseAddr(string, int) (net.IP, int, error) {
	return net.ParseIP("127.0.0.1"), 7946, nil
}

func (r *recorder) WriteTo(b []byte, addr string) (time.Time, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.packets = append(r.packets, append([]byte(nil), b...))
	return time.Now(), nil
}

func (r *recorder) PacketCh() <-chan *memberlist.Packet { return r.packetC }

// DialTimeout hands memberlist one end of a pipe; the test reads the other.
func (r *recorder) DialTimeout(addr string, timeout time.Duration) (net.Conn, error) {
	ours, theirs := net.Pipe()
	r.dialed <- theirs
	return ours, nil
}

func (r *recorder) StreamCh() <-chan net.Conn { return r.streamC }
func (r *recorder) Shutdown() error           { return nil }

// readAll reads from c until nothing more comes for a while.
func readAll(c net.Conn) []byte {
	var out []byte
	buf := make([]byte, 65536)
	for {
		_ = c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}

type vector struct {
	Name        string `json:"name"`
	Kind        string `json:"kind"`
	Description string `json:"description"`
	Label       string `json:"label"`
	Key         string `json:"key,omitempty"`
	Hex         string `json:"hex"`
}

func newNode(name, label string, key []byte) (*memberlist.Memberlist, *recorder) {
	conf := memberlist.DefaultLocalConfig()
	conf.Name = name
	conf.Label = label
	conf.SecretKey = key
	conf.TCPTimeout = 500 * time.Millisecond
	conf.ProbeTimeout = 50 * time.Millisecond
	conf.ProbeInterval = time.Hour
	conf.GossipInterval = 0
	conf.PushPullInterval = 0
	conf.LogOutput = io.Discard
	rec := newRecorder()
	conf.Transport = rec
	m, err := memberlist.Create(conf)
	if err != nil {
		log.Fatal(err)
	}
	return m, rec
}

func main() {
	key := make([]byte, 16)
	for i := range key {
		key[i] = byte(i)
	}
	var out []vector
	for _, c := range []struct {
		label string
		key   []byte
	}{{"rxswim-test", nil}, {"rxswim-test", key}, {"", key}} {
		keyText := ""
		what := "plaintext"
		if c.key != nil {
			keyText = base64.StdEncoding.EncodeToString(c.key)
			what = "encrypted"
		}
		tag := fmt.Sprintf("label %q, %s", c.label, what)
		m, rec := newNode("go-labelled", c.label, c.key)

		// A user message packet (rawSendMsgPacket: no CRC to an unknown address).
		if err := m.SendToAddress(memberlist.Address{Addr: "127.0.0.1:7947", Name: "peer"}, []byte("hello")); err != nil {
			log.Fatal(err)
		}
		// A ping, from Ping's probe path.
		_, _ = m.Ping("peer", &net.UDPAddr{IP: net.ParseIP("127.0.0.1"), Port: 7947})
		rec.mu.Lock()
		if len(rec.packets) != 2 {
			log.Fatalf("%s: %d packets recorded", tag, len(rec.packets))
		}
		out = append(out,
			vector{"user packet, " + tag, "packet", "SendToAddress(peer, \"hello\"): a user message (type 8) with payload hello", c.label, keyText, hex.EncodeToString(rec.packets[0])},
			vector{"ping packet, " + tag, "packet", "Ping(\"peer\", 127.0.0.1:7947): a ping for node peer from go-labelled", c.label, keyText, hex.EncodeToString(rec.packets[1])})
		rec.mu.Unlock()

		// A join: the push-pull request on a stream memberlist opened.
		done := make(chan struct{})
		go func() { _, _ = m.Join([]string{"127.0.0.1:7947"}); close(done) }()
		request := readAll(<-rec.dialed)
		<-done
		out = append(out, vector{"push-pull request stream, " + tag, "stream", "Join(127.0.0.1:7947): everything go-labelled wrote on the stream it opened (join = true, one node: go-labelled)", c.label, keyText, hex.EncodeToString(request)})

		// The same request to a second node with the same settings: its answer on that stream.
		server, srec := newNode("go-server", c.label, c.key)
		ours, theirs := net.Pipe()
		srec.streamC <- theirs
		go func() { _, _ = ours.Write(request) }()
		reply := readAll(ours)
		out = append(out, vector{"push-pull reply stream, " + tag, "stream", "go-server's answer to the request above, sent before it merges (join = true, one node: go-server); the answerer writes no label header", c.label, keyText, hex.EncodeToString(reply)})
		_ = server.Shutdown()
		_ = m.Shutdown()
	}
	doc := map[string]any{
		"source":  "scripts/label-vectors/main.go against hashicorp/memberlist v0.3.1 (commit 0bff30975d0b772ab5fe6bfe689c79cc6b1650f1) built with Debian's go-msgpack 0.5.5 and Go go1.19.8; nonces are random",
		"vectors": out,
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", " ")
	if err := enc.Encode(doc); err != nil {
		log.Fatal(err)
	}
}
