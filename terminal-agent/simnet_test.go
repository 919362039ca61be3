package agent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"sort"
	"testing"
	"time"
)

// Through a jittery connection to an echo server, messages come back in order, each round trip
// held back by the two directions' random delays (0..jitter each): spread over that range and
// not piling up. The bounds allow for a loaded machine; order is checked exactly.
func TestJitterDialerDelaysInOrder(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err == nil {
			io.Copy(c, c)
			c.Close()
		}
	}()
	const jitter = 20 * time.Millisecond
	c, err := JitterDialer(jitter, 1)(context.Background(), ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	lines := bufio.NewScanner(c)
	var rtts []time.Duration
	for i := range 60 {
		start := time.Now()
		fmt.Fprintf(c, "%d\n", i)
		if !lines.Scan() {
			t.Fatalf("echo %d: %v", i, lines.Err())
		}
		rtts = append(rtts, time.Since(start))
		if got := lines.Text(); got != fmt.Sprint(i) {
			t.Fatalf("got %q, want %d: out of order", got, i)
		}
	}
	sort.Slice(rtts, func(i, j int) bool { return rtts[i] < rtts[j] })
	// Two uniform delays of 0..20 ms: median about 20 ms, spread over most of 0..40 ms.
	if med := rtts[len(rtts)/2]; med < jitter/2 || med > 3*jitter {
		t.Errorf("median round trip %v, want about %v", med, jitter)
	}
	if spread := rtts[len(rtts)*9/10] - rtts[len(rtts)/10]; spread < jitter/2 {
		t.Errorf("round trips %v to %v (10th to 90th percentile): not spread by the jitter", rtts[len(rtts)/10], rtts[len(rtts)*9/10])
	}
	// A burst of writes keeps its order too.
	for i := range 100 {
		fmt.Fprintf(c, "b%d\n", i)
	}
	for i := range 100 {
		if !lines.Scan() || lines.Text() != fmt.Sprintf("b%d", i) {
			t.Fatalf("burst message %d: got %q", i, lines.Text())
		}
	}
}
