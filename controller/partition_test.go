package controller_test

// A network partition between a terminal and the controller: the agent runs in a network
// namespace of its own, joined to this one by a veth pair, and the partition is a blackhole
// route on each side (packets silently dropped, connections left open, as when a village's
// uplink fails). The controller stays on loopback; a relay in this process carries the
// namespace's connections to it, as the town hall's router would.

import (
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"dalaba/controller"
	"dalaba/controller/receipts"
	"dalaba/terminal-agent/sink/alsatest"
)

// village is a network namespace with a veth link to this one: host is this side's address,
// terminal the namespace's.
type village struct {
	t              *testing.T
	ns, link       string
	host, terminal string
}

var villageSeq atomic.Int32

// newVillage makes the namespace, or skips the test where namespaces cannot be made (not root,
// no iproute2): say so rather than fake it.
func newVillage(t *testing.T) *village {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("network namespaces need root (CI runs as root)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("ip (iproute2) is not installed")
	}
	n := int(villageSeq.Add(1))
	tag := fmt.Sprintf("%d%d", os.Getpid()%100000, n)
	octet := (os.Getpid()+n)%250 + 1
	v := &village{t: t, ns: "dalaba-v" + tag, link: "dv" + tag,
		host: fmt.Sprintf("10.213.%d.1", octet), terminal: fmt.Sprintf("10.213.%d.2", octet)}
	t.Cleanup(func() {
		exec.Command("ip", "link", "del", v.link).Run()
		exec.Command("ip", "netns", "del", v.ns).Run()
		exec.Command("ip", "route", "del", "blackhole", v.terminal+"/32").Run()
	})
	v.ip("netns", "add", v.ns)
	v.ip("link", "add", v.link, "type", "veth", "peer", "name", v.link+"n")
	v.ip("link", "set", v.link+"n", "netns", v.ns)
	v.ip("addr", "add", v.host+"/30", "dev", v.link)
	v.ip("link", "set", v.link, "up")
	v.ip("-n", v.ns, "addr", "add", v.terminal+"/30", "dev", v.link+"n")
	v.ip("-n", v.ns, "link", "set", v.link+"n", "up")
	v.ip("-n", v.ns, "link", "set", "lo", "up")
	return v
}

func (v *village) ip(args ...string) {
	v.t.Helper()
	if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
		v.t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// partition drops every packet between the village and this side, both ways.
func (v *village) partition() {
	v.ip("route", "add", "blackhole", v.terminal+"/32")
	v.ip("-n", v.ns, "route", "add", "blackhole", v.host+"/32")
}

func (v *village) heal() {
	v.ip("route", "del", "blackhole", v.terminal+"/32")
	v.ip("-n", v.ns, "route", "del", "blackhole", v.host+"/32")
}

// relay listens on the village link's address and carries each connection to target; it stops
// at cleanup. It returns the address the village dials.
func (v *village) relay(target string) string {
	v.t.Helper()
	ln, err := net.Listen("tcp", v.host+":0")
	if err != nil {
		v.t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	v.t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			out, err := net.Dial("tcp", target)
			if err != nil {
				in.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, in, out)
			mu.Unlock()
			go func() { io.Copy(out, in); out.Close() }()
			go func() { io.Copy(in, out); in.Close() }()
		}
	}()
	return ln.Addr().String()
}

// A terminal cut off from the controller: a broadcast sent meanwhile plays once when the link
// heals within its window (the receipt says done), and never when it heals after the window
// (the receipt says failed: expired).
func TestNetworkPartitionHeals(t *testing.T) {
	v := newVillage(t)
	// The village dials the controller by the link's address: its TLS certificate must say so.
	c := startControllerWith(t, "", func(o *controller.Options) { o.TLSHosts = []string{v.host} })
	mqtt, grpc := v.relay(c.MQTTAddr), v.relay(c.GRPCAddr)
	broker := strings.Replace(brokerURLOf(c), c.MQTTAddr, mqtt, 1)
	// Heartbeats every 0.5 s: the controller gives the terminal up after 1 s of silence.
	a := startAgentIn(t, v.ns, c, broker, "t001", "361126104201001", "--grpc", grpc, "--heartbeat", "500ms")
	waitOnline(t, c, a)
	offline := func() {
		t.Helper()
		eventually(t, 20*time.Second, func() error {
			if c.Presence.Get("t001").Online {
				return fmt.Errorf("t001 still online")
			}
			return nil
		})
	}
	const within, after = 750.0, 1250.0

	v.partition()
	offline()
	healed := send(t, c, "terminal:t001", "60", toneWAV(t, within, 500*time.Millisecond))
	time.Sleep(2 * time.Second)
	v.heal()
	r := awaitReceipt(t, c, healed, "t001", func(r receipts.Receipt) bool { return r.State.Final() && r.State != receipts.Offline })
	if r.State != receipts.Done || r.Played == nil || r.Played.Duration < 450 {
		t.Fatalf("healed within the window: %s %s %q, proof %+v; want done with 0.5 s played", r.State, r.Reason, r.Detail, r.Played)
	}
	waitOnline(t, c, a)

	v.partition()
	offline()
	// A window of 1 s past the program's 0.5 s; the link heals 4 s later.
	expired := send(t, c, "terminal:t001", "1s", toneWAV(t, after, 500*time.Millisecond))
	time.Sleep(4 * time.Second)
	v.heal()
	waitOnline(t, c, a)
	r = awaitReceipt(t, c, expired, "t001", func(r receipts.Receipt) bool { return r.Reason == receipts.Expired })
	if r.State != receipts.Failed || r.Played != nil {
		t.Fatalf("healed after the window: %s %s %q, proof %+v; want failed: expired, nothing played", r.State, r.Reason, r.Detail, r.Played)
	}

	heard(t, a)
	samples, err := alsatest.ReadFloat32(a.out)
	if err != nil {
		t.Fatal(err)
	}
	w := toneWindows(samples, []float64{within, after})
	if w[within] < 4 || w[within] > 6 || w[after] != 0 {
		t.Fatalf("the terminal sounded %v Hz for %d and %v Hz for %d windows of 0.1 s; want 5 (once) and 0", within, w[within], after, w[after])
	}
	got := finishedOnAgent(a.log.String())
	if len(got[healed]) != 1 || len(got[expired]) > 1 {
		t.Fatalf("the agent finished %v", got)
	}
}
