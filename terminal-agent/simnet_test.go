package agent

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"testing"
	"time"
)

// Through a jittery connection to an echo server, messages come back in order, each round
// trip held back between nothing and twice the jitter, and spread over that range.
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
	var low, high int
	for i := range 60 {
		start := time.Now()
		fmt.Fprintf(c, "%d\n", i)
		if !lines.Scan() {
			t.Fatalf("echo %d: %v", i, lines.Err())
		}
		rtt := time.Since(start)
		if got := lines.Text(); got != fmt.Sprint(i) {
			t.Fatalf("got %q, want %d: out of order", got, i)
		}
		if rtt > 2*jitter+15*time.Millisecond {
			t.Errorf("round trip %d took %v, want at most twice the %v jitter", i, rtt, jitter)
		}
		if rtt < jitter/2 {
			low++
		}
		if rtt > jitter {
			high++
		}
	}
	if low == 0 || high == 0 {
		t.Fatalf("round trips not spread over 0..2x jitter: %d under %v, %d over %v", low, jitter/2, high, jitter)
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
