package broker

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"testing"
	"time"

	"dalaba/controller/pki"
)

// tlsPair is a handshake listener on loopback and a client configuration that trusts it.
func tlsPair(t *testing.T, timeout time.Duration) (*handshakeListener, *tls.Config) {
	t.Helper()
	p, err := pki.Load(t.TempDir(), []string{"127.0.0.1"}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := listenTLS(raw, p.ServerConfig(), timeout, slog.New(slog.NewTextHandler(io.Discard, nil)))
	t.Cleanup(func() { l.Close() })
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(p.CAPEM)
	return l, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}
}

// accept waits for the listener's next connection.
func accept(t *testing.T, l *handshakeListener, within time.Duration) (net.Conn, error) {
	t.Helper()
	type res struct {
		c   net.Conn
		err error
	}
	got := make(chan res, 1)
	go func() {
		c, err := l.Accept()
		got <- res{c, err}
	}()
	select {
	case r := <-got:
		return r.c, r.err
	case <-time.After(within):
		return nil, errors.New("nothing accepted")
	}
}

// Connections reach the broker with their handshake done; one that never starts its handshake,
// or speaks plain TCP, never reaches it and holds up nobody.
func TestHandshakeListenerHandsOverOnlyFinishedHandshakes(t *testing.T) {
	l, client := tlsPair(t, connectTimeout)
	silent, err := net.Dial("tcp", l.Addr().String()) // connects, says nothing
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	plain, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	plain.Write([]byte{0x10, 0x0c, 0x00, 0x04, 'M', 'Q', 'T', 'T', 0x04, 0x02, 0x00, 0x3c, 0x00, 0x00}) // an MQTT CONNECT in clear
	defer plain.Close()

	good, err := tls.Dial("tcp", l.Addr().String(), client)
	if err != nil {
		t.Fatalf("a genuine client's handshake: %v", err)
	}
	defer good.Close()
	c, err := accept(t, l, 5*time.Second)
	if err != nil {
		t.Fatalf("the genuine client was not handed over while a silent one waits: %v", err)
	}
	tc, ok := c.(*tls.Conn)
	if !ok || !tc.ConnectionState().HandshakeComplete {
		t.Fatalf("handed over %T before its handshake was done", c)
	}
	if _, err := good.Write([]byte("ping")); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 4)
	if _, err := io.ReadFull(c, buf); err != nil || string(buf) != "ping" {
		t.Fatalf("read %q, %v through the handed-over connection", buf, err)
	}
	if c, err := accept(t, l, 300*time.Millisecond); err == nil {
		t.Fatalf("a connection without a finished handshake was handed over: %v", c.RemoteAddr())
	}
	// The plain client's bytes are not TLS: it is closed (an alert, then EOF), not left open.
	plain.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.ReadAll(plain); err != nil {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			t.Error("the plain-TCP client was left open")
		}
	}
}

// Closing stops Accept (as mochi expects, with an error) and ends the handshakes in progress.
func TestHandshakeListenerClose(t *testing.T) {
	l, _ := tlsPair(t, connectTimeout)
	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	time.Sleep(50 * time.Millisecond) // its handshake has begun
	closed := make(chan error, 1)
	go func() { closed <- l.Close() }()
	select {
	case <-closed:
	case <-time.After(3 * time.Second):
		t.Fatal("Close waited for a handshake that will never finish")
	}
	if _, err := accept(t, l, time.Second); !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	silent.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("the client in its handshake: read %v, want EOF (closed)", err)
	}
}

// A client that connects and never finishes its handshake, or finishes it and never sends
// CONNECT, is dropped when the listener's timeout runs out.
func TestHandshakeListenerDropsSilentClients(t *testing.T) {
	l, client := tlsPair(t, 500*time.Millisecond)
	silent, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	quiet, err := tls.Dial("tcp", l.Addr().String(), client)
	if err != nil {
		t.Fatal(err)
	}
	defer quiet.Close()
	c, err := accept(t, l, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// The broker reads CONNECT under the deadline the listener left.
	start := time.Now()
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("read a byte the client never sent")
	} else if ne, ok := err.(net.Error); !ok || !ne.Timeout() {
		t.Fatalf("the broker's first read: %v, want a timeout", err)
	}
	if waited := time.Since(start); waited > 2*time.Second {
		t.Errorf("the first read gave up after %v, want within the 500 ms timeout", waited)
	}
	silent.SetReadDeadline(time.Now().Add(3 * time.Second))
	if _, err := silent.Read(make([]byte, 1)); !errors.Is(err, io.EOF) {
		t.Errorf("the client that never began its handshake: read %v, want EOF (dropped)", err)
	}
}
