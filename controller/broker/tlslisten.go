package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net"
	"sync"
	"time"
)

// connectTimeout is how long a client has from connecting to sending its MQTT CONNECT, its
// TLS handshake included.
const connectTimeout = 10 * time.Second

// handshakeListener serves TLS to mochi with every handshake already done. Done by mochi, the
// handshake would run lazily on the client's read goroutine with no deadline (mochi sets none
// until CONNECT has come). Here each runs on a goroutine of its own, and a client must finish
// its handshake and send CONNECT within the listener's timeout (mochi then sets the keepalive
// deadline): one that connects and says nothing is dropped instead of holding two goroutines
// and a descriptor for ever. Handshakes are not limited in number: a limit would let a few
// hundred silent clients hold every new terminal out.
//
// It also keeps accepting after a temporary error (out of file descriptors), where mochi's
// listener would stop for good on any error.
type handshakeListener struct {
	raw     net.Listener
	cfg     *tls.Config
	timeout time.Duration
	log     *slog.Logger
	ready   chan net.Conn
	ctx     context.Context
	stop    context.CancelFunc
	done    sync.WaitGroup
}

// listenTLS serves TLS on raw; clients have timeout to handshake and send CONNECT.
func listenTLS(raw net.Listener, cfg *tls.Config, timeout time.Duration, log *slog.Logger) *handshakeListener {
	ctx, stop := context.WithCancel(context.Background())
	l := &handshakeListener{raw: raw, cfg: cfg, timeout: timeout, log: log, ready: make(chan net.Conn),
		ctx: ctx, stop: stop}
	l.done.Add(1)
	go l.acceptLoop()
	return l
}

func (l *handshakeListener) acceptLoop() {
	defer l.done.Done()
	backoff := 5 * time.Millisecond
	for {
		c, err := l.raw.Accept()
		if err != nil {
			if l.ctx.Err() != nil || errors.Is(err, net.ErrClosed) {
				return
			}
			l.log.Warn("mqtt accept failed: retrying", "err", err, "in", backoff)
			select {
			case <-time.After(backoff):
			case <-l.ctx.Done():
				return
			}
			backoff = min(2*backoff, time.Second)
			continue
		}
		backoff = 5 * time.Millisecond
		l.done.Add(1)
		go l.handshake(c)
	}
}

// handshake does the handshake within the client's timeout and hands the connection to mochi.
func (l *handshakeListener) handshake(c net.Conn) {
	defer l.done.Done()
	c.SetDeadline(time.Now().Add(l.timeout)) // left for CONNECT: mochi replaces it then
	tc := tls.Server(c, l.cfg)
	if err := tc.HandshakeContext(l.ctx); err != nil {
		l.log.Debug("mqtt tls handshake failed", "remote", c.RemoteAddr().String(), "err", err)
		c.Close()
		return
	}
	select {
	case l.ready <- tc:
	case <-l.ctx.Done():
		c.Close()
	}
}

// Accept returns the next connection whose handshake is done.
func (l *handshakeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.ready:
		return c, nil
	case <-l.ctx.Done():
		return nil, net.ErrClosed
	}
}

// Close stops accepting and ends the handshakes in progress.
func (l *handshakeListener) Close() error {
	l.stop()
	err := l.raw.Close()
	l.done.Wait()
	return err
}

func (l *handshakeListener) Addr() net.Addr { return l.raw.Addr() }
