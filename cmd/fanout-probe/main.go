// Command fanout-probe measures the floor under a broadcast: how long an MQTT broker takes to
// fan one message out to every terminal of a site. It connects one paho client per terminal,
// subscribed to the terminal's four tier topics as an agent is, prints "ready", then for every
// message whose payload starts with the publisher's clock (8 bytes, unix nanoseconds,
// big-endian) prints "fanout <n> <nanoseconds until the last subscriber had it>".
package main

import (
	"bufio"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"dalaba/controller/inventory"
	"dalaba/proto/wire"
)

func main() {
	site := flag.String("site", "", "inventory CSV whose terminals to stand in for (required)")
	broker := flag.String("broker", "tcp://127.0.0.1:1883", "MQTT broker URL")
	flag.Parse()
	if err := run(*site, *broker); err != nil {
		fmt.Fprintln(os.Stderr, "fanout-probe:", err)
		os.Exit(1)
	}
}

func run(site, broker string) error {
	inv, err := inventory.ReadFile(site)
	if err != nil {
		return err
	}
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	got := map[int64]int{} // sent-at -> subscribers that have it
	onMessage := func(_ paho.Client, m paho.Message) {
		now := time.Now().UnixNano()
		if len(m.Payload()) < 8 {
			return
		}
		sent := int64(binary.BigEndian.Uint64(m.Payload()))
		mu.Lock()
		defer mu.Unlock()
		got[sent]++
		if got[sent] == inv.Len() {
			fmt.Fprintf(out, "fanout %d %d\n", inv.Len(), now-sent)
			out.Flush()
			delete(got, sent)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, inv.Len())
	sem := make(chan struct{}, 64) // connect in waves, as a real fleet does
	for _, t := range inv.Terminals() {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			filters := map[string]byte{}
			for _, a := range t.Addresses() {
				filters[wire.CommandTopic(a)] = 1
			}
			c := paho.NewClient(paho.NewClientOptions().AddBroker(broker).SetClientID("probe-" + t.ID).
				SetOrderMatters(false).SetConnectTimeout(30 * time.Second))
			if tok := c.Connect(); !tok.WaitTimeout(60*time.Second) || tok.Error() != nil {
				errs <- fmt.Errorf("connect %s: %v", t.ID, tok.Error())
				return
			}
			if tok := c.SubscribeMultiple(filters, onMessage); !tok.WaitTimeout(60*time.Second) || tok.Error() != nil {
				errs <- fmt.Errorf("subscribe %s: %v", t.ID, tok.Error())
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return err
	}
	mu.Lock()
	fmt.Fprintln(out, "ready")
	out.Flush()
	mu.Unlock()
	select {} // until killed
}
