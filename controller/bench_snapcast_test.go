package controller_test

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dalaba/proto/opusframe"
	"dalaba/proto/wire"
)

// Snapcast, the baseline for live latency: snapserver reads PCM from a pipe and timestamps it;
// every snapclient plays each chunk at its timestamp plus the buffer, on a clock synchronised
// with the server's. Its file player writes a 50 ms block every 50 ms.
const (
	snapBuffer     = 100 * time.Millisecond // its lowest stable buffer on this machine
	snapBlockBytes = wire.BytesPerSecond / 20
	snapLeadIn     = time.Second     // silence before the speech, as a microphone would send
	snapDryout     = 2 * time.Second // how long snapserver pads an empty pipe with silence
)

type snapResult struct {
	version         string
	clients, wanted int
	frames          int // speech frames over all clients
	badFrames       int // of those, not found intact in a client's output
	latency, spread spread
}

type snapClient struct {
	cmd   *exec.Cmd
	mu    sync.Mutex
	out   []byte
	reads []snapRead
}

// snapRead is one read from a client's stdout: the output's length after it, and when.
type snapRead struct {
	end int
	at  time.Time
}

func (c *snapClient) collect(r io.Reader) {
	buf := make([]byte, 64<<10)
	for {
		n, err := r.Read(buf)
		if n > 0 {
			now := time.Now()
			c.mu.Lock()
			c.out = append(c.out, buf[:n]...)
			c.reads = append(c.reads, snapRead{len(c.out), now})
			c.mu.Unlock()
		}
		if err != nil {
			return
		}
	}
}

func (c *snapClient) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.out)
}

// offsetAt is how much the client had written by t.
func (c *snapClient) offsetAt(t time.Time) int {
	end := 0
	for _, r := range c.reads {
		if r.at.After(t) {
			break
		}
		end = r.end
	}
	return end
}

// writtenAt is when byte off of the output was written: the read that brought its 50 ms
// block, plus its place in the block (the block's first sample is output when written, the
// rest follow at the sample rate).
func (c *snapClient) writtenAt(off int) time.Time {
	block := off - off%snapBlockBytes
	for _, r := range c.reads {
		if r.end > block {
			return r.at.Add(time.Duration(off-block) * time.Second / wire.BytesPerSecond)
		}
	}
	return time.Time{}
}

func benchSnapcast(b *testing.B, speech []byte, want int) snapResult {
	for _, tool := range []string{"snapserver", "snapclient"} {
		if _, err := exec.LookPath(tool); err != nil {
			b.Fatalf("%s is not installed (apt-get install snapserver snapclient; .ci/deps does): %v", tool, err)
		}
	}
	var res snapResult
	if v, err := exec.Command("snapserver", "--version").Output(); err == nil {
		res.version = strings.TrimPrefix(strings.SplitN(string(v), "\n", 2)[0], "snapserver ")
	}
	dir := b.TempDir()
	fifo, port := filepath.Join(dir, "fifo"), freePort(b)
	conf := fmt.Sprintf(`[server]
datadir = %s
[http]
enabled = false
[tcp]
enabled = false
[stream]
bind_to_address = 127.0.0.1
port = %d
source = pipe://%s?name=bench&sampleformat=%d:16:%d&codec=pcm&chunk_ms=20&mode=create
buffer = %d
[logging]
sink = stderr
filter = *:warning
`, dir, port, fifo, wire.SampleRate, wire.Channels, snapBuffer.Milliseconds())
	confPath := filepath.Join(dir, "snapserver.conf")
	if err := os.WriteFile(confPath, []byte(conf), 0o644); err != nil {
		b.Fatal(err)
	}
	serverLog := new(syncBuffer)
	server := exec.Command("snapserver", "-c", confPath)
	server.Stdout, server.Stderr = serverLog, serverLog
	if err := server.Start(); err != nil {
		b.Fatal(err)
	}
	serverStarted := time.Now()
	defer func() { server.Process.Kill(); server.Wait() }()
	eventually(b, 5*time.Second, func() error { _, err := os.Stat(fifo); return err })
	pipe, err := os.OpenFile(fifo, os.O_WRONLY, 0)
	if err != nil {
		b.Fatal(err)
	}
	defer pipe.Close()
	frame := make([]byte, opusframe.PCMBytes)

	// Clients start ten at a time, each batch once the one before writes audio; a batch that
	// cannot start within 20 s means the machine manages no more, and the rest are not tried.
	var clients []*snapClient
	defer func() {
		for _, c := range clients {
			c.cmd.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range clients {
			done := make(chan struct{})
			go func() { c.cmd.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				c.cmd.Process.Kill()
				<-done
			}
		}
	}()
	for len(clients) < want {
		from := len(clients)
		for i := from; i < min(from+10, want); i++ {
			c := &snapClient{cmd: exec.Command("snapclient", "-h", "127.0.0.1", "-p", strconv.Itoa(port),
				"--hostID", fmt.Sprintf("dalaba-bench-%03d", i), "--instance", strconv.Itoa(i+1),
				"--player", "file:filename=stdout", "--logsink", "null")}
			out, err := c.cmd.StdoutPipe()
			if err != nil {
				b.Fatal(err)
			}
			if err := c.cmd.Start(); err != nil {
				b.Fatalf("snapclient %d: %v", i, err)
			}
			go c.collect(out)
			clients = append(clients, c)
		}
		batch := clients[from:]
		deadline := time.Now().Add(20 * time.Second)
		for !allWriting(batch) && time.Now().Before(deadline) {
			time.Sleep(50 * time.Millisecond)
		}
		if !allWriting(batch) {
			b.Logf("snapclients %d to %d did not start within 20 s: measuring the %d before them", from+1, len(clients), from)
			for _, c := range batch {
				c.cmd.Process.Kill()
				c.cmd.Wait()
			}
			clients = clients[:from]
			break
		}
	}
	if len(clients) == 0 {
		b.Fatalf("no snapclient started; snapserver log:\n%s", tail([]byte(serverLog.String()), 20))
	}
	// The clients write silence (nothing is playing yet). Let the server's pipe reader go idle
	// (it pads an empty pipe with silence for 2 s, its dryout), so that the speech starts the
	// stream afresh, as a shout would.
	lead := int(snapLeadIn / opusframe.Duration)
	time.Sleep(time.Until(serverStarted.Add(snapDryout + time.Second)))

	// The speech, each 20 ms piece written when complete, after silence.
	audio := append(make([]byte, lead*opusframe.PCMBytes), speech...)
	frames := len(audio) / opusframe.PCMBytes
	captured := make([]time.Time, frames)
	t0 := time.Now()
	for k := range frames {
		captured[k] = t0.Add(time.Duration(k) * opusframe.Duration)
		time.Sleep(time.Until(captured[k].Add(opusframe.Duration)))
		if _, err := pipe.Write(audio[k*opusframe.PCMBytes : (k+1)*opusframe.PCMBytes]); err != nil {
			b.Fatalf("write to snapserver's pipe: %v", err)
		}
	}
	for range 50 { // a second of silence lets the last words out
		time.Sleep(opusframe.Duration)
		pipe.Write(frame)
	}

	// Find the speech in each client's output. PCM passes through Snapcast unchanged, except
	// that a client drops or repeats a sample now and then to stay in sync: so each frame is
	// looked for on its own, by the exact bytes of its first 4 ms, near where the one before
	// it landed. Frames too quiet to tell apart are not timed.
	speechFrames := len(speech) / opusframe.PCMBytes
	times := make([][]time.Time, len(clients))
	var lat []time.Duration
	for i, c := range clients {
		c.mu.Lock()
		out := c.out
		c.mu.Unlock()
		times[i] = make([]time.Time, speechFrames)
		shift, found := 0, false // output offset minus audio offset, once known
		for k := range speechFrames {
			src := (lead + k) * opusframe.PCMBytes
			probe := audio[src : src+snapProbe]
			if !distinctive(probe) {
				continue
			}
			res.frames++
			off := -1
			if found {
				off = findNear(out, probe, src+shift, opusframe.PCMBytes)
			}
			if off < 0 {
				// First, or after a dropout: look where the client wrote in the 2 s after the
				// frame was captured.
				lo, hi := c.offsetAt(captured[lead+k]), c.offsetAt(captured[lead+k].Add(2*time.Second))
				if at := bytes.Index(out[lo:min(hi+snapProbe, len(out))], probe); at >= 0 && (lo+at)%2 == 0 {
					off = lo + at
				}
			}
			if off < 0 {
				res.badFrames++
				continue
			}
			shift, found = off-src, true
			times[i][k] = c.writtenAt(off)
			lat = append(lat, times[i][k].Sub(captured[lead+k]))
		}
	}
	var spr []time.Duration
	for k := range speechFrames {
		var lo, hi time.Time
		for i := range clients {
			if times[i] == nil || times[i][k].IsZero() {
				continue
			}
			if lo.IsZero() || times[i][k].Before(lo) {
				lo = times[i][k]
			}
			if hi.IsZero() || times[i][k].After(hi) {
				hi = times[i][k]
			}
		}
		if !lo.IsZero() {
			spr = append(spr, hi.Sub(lo))
		}
	}
	if len(lat) == 0 {
		b.Fatalf("the speech was not found in any snapclient's output; snapserver log:\n%s", tail([]byte(serverLog.String()), 20))
	}
	res.clients, res.wanted = len(clients), want
	res.latency, res.spread = spreadOf(lat), spreadOf(spr)
	return res
}

// snapProbe is how much of a frame identifies it in a client's output: 4 ms.
const snapProbe = wire.BytesPerSecond / 250

// distinctive reports whether a probe is loud enough (peak over 1/16 of full scale) that its
// bytes will not turn up by chance in other speech or silence.
func distinctive(probe []byte) bool {
	for i := 0; i+1 < len(probe); i += 2 {
		if v := int16(uint16(probe[i]) | uint16(probe[i+1])<<8); v > 2048 || v < -2048 {
			return true
		}
	}
	return false
}

// findNear returns the even offset nearest want, within ±window, where out holds probe; -1
// if nowhere.
func findNear(out, probe []byte, want, window int) int {
	for d := 0; d <= window; d += 2 {
		for _, off := range []int{want - d, want + d} {
			if off >= 0 && off+len(probe) <= len(out) && bytes.Equal(out[off:off+len(probe)], probe) {
				return off
			}
		}
	}
	return -1
}

// freePort is a TCP port nobody listens on just now.
func freePort(b *testing.B) int {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

func allWriting(cs []*snapClient) bool {
	for _, c := range cs {
		if c.size() == 0 {
			return false
		}
	}
	return true
}
