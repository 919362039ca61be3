package agent

import (
	"context"
	"math/rand/v2"
	"net"
	"sync"
	"time"
)

// JitterDialer is a test affordance, like SimulatedHealth: a gRPC context dialer
// (grpc.WithContextDialer) whose connections behave like a jittery link. Each write is held
// back a random 0..max before it goes out, and each read's bytes are held back a random 0..max
// after they arrive, order kept in both directions (as netem's delay jitter with a rate limit
// would). The clock probes travel on this connection, so it is what makes the clock estimate
// earn its keep. seed makes the delays repeatable.
func JitterDialer(maxDelay time.Duration, seed uint64) func(ctx context.Context, addr string) (net.Conn, error) {
	var mu sync.Mutex
	n := uint64(0)
	return func(ctx context.Context, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, "tcp", addr)
		if err != nil || maxDelay <= 0 {
			return c, err
		}
		mu.Lock()
		n++
		rng := rand.New(rand.NewPCG(seed, n))
		mu.Unlock()
		return newJitterConn(c, maxDelay, rng), nil
	}
}

type chunk struct {
	b   []byte
	at  time.Time // when it may go on (out) or be read (in)
	err error     // the read error after b (in)
}

// jitterConn delays both directions of conn; see JitterDialer.
type jitterConn struct {
	net.Conn
	max time.Duration

	mu      sync.Mutex // rng, lastOut, werr
	rng     *rand.Rand
	lastOut time.Time
	werr    error

	out    chan chunk
	in     chan chunk
	rest   []byte // of the chunk being read
	rerr   error  // the read error after rest
	closed chan struct{}
	once   sync.Once
}

func newJitterConn(c net.Conn, maxDelay time.Duration, rng *rand.Rand) *jitterConn {
	j := &jitterConn{Conn: c, max: maxDelay, rng: rng, out: make(chan chunk, 256), in: make(chan chunk, 256), closed: make(chan struct{})}
	go j.send()
	go j.receive()
	return j
}

func (j *jitterConn) delay() time.Duration { return time.Duration(j.rng.Int64N(int64(j.max) + 1)) }

// Write queues b to go out after its delay, never before what was written earlier.
func (j *jitterConn) Write(b []byte) (int, error) {
	j.mu.Lock()
	if j.werr != nil {
		err := j.werr
		j.mu.Unlock()
		return 0, err
	}
	at := time.Now().Add(j.delay())
	if at.Before(j.lastOut) {
		at = j.lastOut
	}
	j.lastOut = at
	j.mu.Unlock()
	select {
	case j.out <- chunk{b: append([]byte(nil), b...), at: at}:
		return len(b), nil
	case <-j.closed:
		return 0, net.ErrClosed
	}
}

func (j *jitterConn) send() {
	for {
		select {
		case <-j.closed:
			return
		case c := <-j.out:
			if !sleepUntil(c.at, j.closed) {
				return
			}
			if _, err := j.Conn.Write(c.b); err != nil {
				j.mu.Lock()
				j.werr = err
				j.mu.Unlock()
				return
			}
		}
	}
}

// receive reads what arrives and stamps when it may be read.
func (j *jitterConn) receive() {
	var last time.Time
	for {
		buf := make([]byte, 32<<10)
		n, err := j.Conn.Read(buf)
		j.mu.Lock()
		at := time.Now().Add(j.delay())
		j.mu.Unlock()
		if at.Before(last) {
			at = last
		}
		last = at
		select {
		case j.in <- chunk{b: buf[:n], at: at, err: err}:
		case <-j.closed:
			return
		}
		if err != nil {
			return
		}
	}
}

func (j *jitterConn) Read(p []byte) (int, error) {
	for len(j.rest) == 0 {
		if j.rerr != nil {
			return 0, j.rerr
		}
		select {
		case c := <-j.in:
			if !sleepUntil(c.at, j.closed) {
				return 0, net.ErrClosed
			}
			j.rest, j.rerr = c.b, c.err // the bytes first, the error on the Read after them
		case <-j.closed:
			return 0, net.ErrClosed
		}
	}
	n := copy(p, j.rest)
	j.rest = j.rest[n:]
	return n, nil
}

func (j *jitterConn) Close() error {
	j.once.Do(func() { close(j.closed) })
	return j.Conn.Close()
}

func sleepUntil(at time.Time, stop <-chan struct{}) bool {
	d := time.Until(at)
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-stop:
		return false
	}
}
