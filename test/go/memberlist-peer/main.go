// A plain HashiCorp memberlist 0.2.x application, for rxswim's interop tests: no
// Serf, no rxswim envelope, just memberlist's Delegate and EventDelegate. It prints
// one JSON object per line on stdout for everything the tests look at, and reads
// commands on stdin, one per line:
//
//	send NAME HEX MODE   MODE: besteffort (SendBestEffort), udp (SendToUDP),
//	                     reliable (SendReliable) or tcp (SendToTCP)
//	broadcast HEX        queue a user broadcast (TransmitLimitedQueue, GetBroadcasts)
//	state HEX            what LocalState returns from now on
//	leave                Leave, Shutdown, exit 0
//
// Built by test/interop/go-memberlist.test.ts with GOPATH=...:/usr/share/gocode from
// Debian's golang-github-hashicorp-memberlist-dev.
package main

import (
	"bufio"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/memberlist"
)

var (
	outMu sync.Mutex
	enc   = json.NewEncoder(os.Stdout)
)

func emit(v map[string]interface{}) {
	outMu.Lock()
	defer outMu.Unlock()
	enc.Encode(v)
}

type broadcast struct{ msg []byte }

func (b *broadcast) Invalidates(memberlist.Broadcast) bool { return false }
func (b *broadcast) Message() []byte                       { return b.msg }
func (b *broadcast) Finished()                             {}

type delegate struct {
	meta  []byte
	mu    sync.Mutex
	state []byte
	queue *memberlist.TransmitLimitedQueue
}

func (d *delegate) NodeMeta(limit int) []byte { return d.meta }

func (d *delegate) NotifyMsg(b []byte) {
	emit(map[string]interface{}{"event": "msg", "hex": hex.EncodeToString(b)})
}

func (d *delegate) GetBroadcasts(overhead, limit int) [][]byte {
	return d.queue.GetBroadcasts(overhead, limit)
}

func (d *delegate) LocalState(join bool) []byte {
	d.mu.Lock()
	defer d.mu.Unlock()
	emit(map[string]interface{}{"event": "localstate", "join": join})
	return d.state
}

func (d *delegate) MergeRemoteState(buf []byte, join bool) {
	emit(map[string]interface{}{"event": "merge", "join": join, "hex": hex.EncodeToString(buf)})
}

// No state: in 0.2.x Node.State is never set (nodeState's own field shadows it), so a
// leave and a failure look alike to an EventDelegate; only the log tells them apart.
func nodeJSON(n *memberlist.Node) map[string]interface{} {
	return map[string]interface{}{
		"name": n.Name, "addr": n.Addr.String(), "port": n.Port,
		"meta": hex.EncodeToString(n.Meta),
	}
}

// memberlist calls the EventDelegate with its node lock held, so the list is read
// (Members takes that lock) by another goroutine, after each change.
type events struct{ changed chan struct{} }

func (e *events) note(kind string, n *memberlist.Node) {
	emit(map[string]interface{}{"event": kind, "node": nodeJSON(n)})
	select {
	case e.changed <- struct{}{}:
	default:
	}
}

func printMembers(ml func() *memberlist.Memberlist, changed chan struct{}) {
	for range changed {
		m := ml()
		if m == nil {
			continue
		}
		list := []interface{}{}
		for _, n := range m.Members() {
			list = append(list, nodeJSON(n))
		}
		emit(map[string]interface{}{"event": "members", "members": list})
	}
}

func (e *events) NotifyJoin(n *memberlist.Node)   { e.note("join", n) }
func (e *events) NotifyLeave(n *memberlist.Node)  { e.note("leave", n) }
func (e *events) NotifyUpdate(n *memberlist.Node) { e.note("update", n) }

func main() {
	name := flag.String("name", "go-peer", "node name")
	bind := flag.String("bind", "127.0.0.1", "bind address")
	port := flag.Int("port", 7946, "bind port")
	key := flag.String("key", "", "SecretKey, base64 (16, 24 or 32 bytes); empty: no encryption")
	join := flag.String("join", "", "seed host:port to join")
	meta := flag.String("meta", "", "NodeMeta (bytes of this string)")
	state := flag.String("state", "", "LocalState, hex")
	pushPull := flag.Duration("push-pull", 0, "PushPullInterval; 0 keeps DefaultLocalConfig's")
	dv := flag.String("delegate-version", "", "min,max,cur delegate protocol versions; empty keeps memberlist's 0,0,0")
	flag.Parse()

	conf := memberlist.DefaultLocalConfig()
	conf.Name = *name
	conf.BindAddr = *bind
	conf.BindPort = *port
	conf.AdvertiseAddr = *bind
	conf.AdvertisePort = *port
	conf.LogOutput = os.Stderr
	if *pushPull > 0 {
		conf.PushPullInterval = *pushPull
	}
	if *dv != "" {
		var min, max, cur uint8
		if _, err := fmt.Sscanf(*dv, "%d,%d,%d", &min, &max, &cur); err != nil {
			log.Fatalf("-delegate-version: %v", err)
		}
		conf.DelegateProtocolMin, conf.DelegateProtocolMax, conf.DelegateProtocolVersion = min, max, cur
	}
	if *key != "" {
		k, err := base64.StdEncoding.DecodeString(*key)
		if err != nil {
			log.Fatalf("-key: %v", err)
		}
		conf.SecretKey = k
	}
	st, err := hex.DecodeString(*state)
	if err != nil {
		log.Fatalf("-state: %v", err)
	}
	var ml *memberlist.Memberlist
	var mlMu sync.Mutex
	get := func() *memberlist.Memberlist { mlMu.Lock(); defer mlMu.Unlock(); return ml }
	d := &delegate{meta: []byte(*meta), state: st}
	d.queue = &memberlist.TransmitLimitedQueue{
		NumNodes: func() int {
			if m := get(); m != nil {
				return m.NumMembers()
			}
			return 1
		},
		RetransmitMult: conf.RetransmitMult,
	}
	conf.Delegate = d
	ev := &events{changed: make(chan struct{}, 1)}
	conf.Events = ev
	go printMembers(get, ev.changed)
	created, err := memberlist.Create(conf)
	if err != nil {
		log.Fatalf("create: %v", err)
	}
	mlMu.Lock()
	ml = created
	mlMu.Unlock()
	ev.changed <- struct{}{}
	emit(map[string]interface{}{"event": "ready", "name": *name, "port": *port})
	if *join != "" {
		n, err := ml.Join([]string{*join})
		res := map[string]interface{}{"event": "joined", "count": n}
		if err != nil {
			res["error"] = err.Error()
		}
		emit(res)
	}

	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		f := strings.Fields(in.Text())
		if len(f) == 0 {
			continue
		}
		res := map[string]interface{}{"event": "done", "cmd": f[0]}
		switch {
		case f[0] == "send" && len(f) == 4:
			err = send(ml, f[1], f[2], f[3])
		case f[0] == "broadcast" && len(f) == 2:
			var b []byte
			if b, err = hex.DecodeString(f[1]); err == nil {
				d.queue.QueueBroadcast(&broadcast{msg: b})
			}
		case f[0] == "state" && len(f) == 2:
			var b []byte
			if b, err = hex.DecodeString(f[1]); err == nil {
				d.mu.Lock()
				d.state = b
				d.mu.Unlock()
			}
		case f[0] == "leave":
			err = ml.Leave(5 * time.Second)
			ml.Shutdown()
			emit(map[string]interface{}{"event": "done", "cmd": "leave"})
			os.Exit(0)
		default:
			err = fmt.Errorf("unknown command %q", in.Text())
		}
		if err != nil {
			res["error"] = err.Error()
		}
		emit(res)
	}
	// stdin closed: the test is gone; stop without a leave, as a crash would.
	ml.Shutdown()
}

func send(ml *memberlist.Memberlist, to, payload, mode string) error {
	b, err := hex.DecodeString(payload)
	if err != nil {
		return err
	}
	var node *memberlist.Node
	for _, m := range ml.Members() {
		if m.Name == to {
			node = m
		}
	}
	if node == nil {
		return fmt.Errorf("no member %q", to)
	}
	switch mode {
	case "besteffort":
		return ml.SendBestEffort(node, b)
	case "udp":
		return ml.SendToUDP(node, b)
	case "reliable":
		return ml.SendReliable(node, b)
	case "tcp":
		return ml.SendToTCP(node, b)
	}
	return fmt.Errorf("unknown mode %q", mode)
}
