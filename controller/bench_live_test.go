package controller_test

import (
	"bytes"
	"context"
	"encoding/hex"
	"fmt"
	"hash/fnv"
	"io"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc"

	"dalaba/controller"
	"dalaba/controller/live"
	"dalaba/proto/dalabapb"
	"dalaba/proto/opusframe"
	"dalaba/proto/opusframe/speechtest"
	"dalaba/proto/provision"
	"dalaba/proto/wire"
	agent "dalaba/terminal-agent"
	agentlive "dalaba/terminal-agent/live"
	"dalaba/terminal-agent/sink"
	"dalaba/terminal-agent/sink/sinktest"
)

// BenchmarkLiveShout125 speaks a minute of speech (espeak-ng) live to the Caoxi site's 125
// terminals, and the same speech through Snapcast 0.26 with its lowest stable buffer, and
// compares mouth-to-horn latency: from the moment a sample is captured at the sender to the
// moment it is written to each terminal's output.
func BenchmarkLiveShout125(b *testing.B) {
	if b.N == 1 {
		return // the testing package's probe run
	}
	const seconds, terminals = 60, 125
	speech := speechtest.SpeakFor(b, seconds)
	loadBefore := loadAverage()
	ours := benchOurLive(b, speech, terminals)
	snap := benchSnapcast(b, speech, terminals)
	load := fmt.Sprintf("%s before, %s after", loadBefore, loadAverage())
	b.ReportMetric(ms(ours.latency.p95), "ms-p95-mouth-to-horn")
	b.ReportMetric(ms(snap.latency.p95), "ms-p95-snapcast")
	b.ReportMetric(ours.kbps, "kbit/s-per-terminal")

	writeBenchReport(b, "live-shout-125", fmt.Sprintf(`A minute of speech (espeak-ng, %d frames of 20 ms) spoken live to the whole Caoxi site, then the
same speech through Snapcast on the same machine. Latency runs from the capture of a sample at
the sender (a frame's first sample is captured 20 ms before the frame is complete and sent: both
systems get the audio in 20 ms pieces, each sent when complete) to the moment a terminal writes
that sample to its output; percentiles over every frame at every terminal. Spread: for each
frame, the latest terminal's output time minus the earliest's.

**Dalaba**: a controller with its live hub (live delay %v), %d in-process terminal agents
(terminal-agent/live) each on its own gRPC connection, writing to a recording sink with no
output latency (a player queues frames that have come up to 40 ms ahead in its sink, as a device
buffer holds them; a frame counts as output when the sink's clock reaches it, not when it was
handed over); the speaker's client (controller/live.Speak, in a process of its own) encodes
Opus at %d kbit/s.
**Snapcast %s**: snapserver with a pipe source (16000:16:1, codec pcm, 20 ms chunks, buffer
100 ms, its lowest stable buffer), %d snapclients%s (one process each) with the file player on
stdout, read by the benchmark. A sample counts as output when the 50 ms block holding it is
written, plus its place in the block (snapclient aims each block 10 ms later still, for a DAC:
not counted). The stream starts from idle, as a shout does.

| mouth to horn | p50 | p95 | p99 | max | spread p50 / p95 / max | frames lost |
|---|---|---|---|---|---|---|
| **Dalaba** (target: p95 at or below Snapcast's) | %s | **%s** | %s | %s | %s / %s / %s | %d concealed of %d |
| Snapcast, buffer 100 ms | %s | **%s** | %s | %s | %s / %s / %s | %d of %d not found intact |

Dalaba: what %d terminals wrote correlates with what was said, second by second, %.3f (median)
and %.3f (lowest); the hub relayed %d frames, %d arrived late (the rest of the shout then plays later: moved %v
in all, %v made up again in pauses), %d dropped for slow listeners. %d of the %d frame
arrivals were timed (the rest carry a packet that occurs more than once: silence). A frame took %s (p50), %s
(p99), %s (max) from being sent by the speaker to reaching a terminal (fan-out to 125 on 2
cores); the least time any frame waited at a terminal before its play time was %s (1st
percentile %s): that margin, with 20 ms of network jitter and the decoder's 5 ms, is what the
live delay covers. All %d agents share this machine's CPUs, which is most of the spread; each
horn has its own. The benchmark keeps what it records about each frame without pointers, in room
made beforehand: when it kept time.Time values and strings, the garbage collector's mark phase
over them stalled all %d players at once, several times a minute, and 36 to 621 frames were
concealed.

**Bytes on the wire** per terminal over the minute, counted on each agent's gRPC connection (a
counting net.Conn around the dial, so TCP payload: HTTP/2 frames carrying gRPC messages, both
directions; target < 32 kbit/s): **%.1f kbit/s** (%.1f down, %.1f up; the Opus alone %.1f
kbit/s). With the TCP/IP headers of every segment (%d in and %d out per terminal from
TCP_INFO, 52 bytes each: IPv4, TCP, timestamps) it is %.1f kbit/s: 50 packets a second carry
headers nearly as large as their audio. Snapcast with codec pcm sends 256 kbit/s of audio to
each client.

Load average (1 min) %s: other work on the machine shares its 2 cores.

%s
`, ours.frames, live.DefaultDelay, terminals, opusframe.Bitrate/1000, snap.version, snap.clients, clientsNote(snap),
		f(ours.latency.p50), f(ours.latency.p95), f(ours.latency.p99), f(ours.latency.max),
		f(ours.spread.p50), f(ours.spread.p95), f(ours.spread.max), ours.concealed, ours.frames*terminals,
		f(snap.latency.p50), f(snap.latency.p95), f(snap.latency.p99), f(snap.latency.max),
		f(snap.spread.p50), f(snap.spread.p95), f(snap.spread.max), snap.badFrames, snap.frames,
		ours.checked, ours.medianCorrelation, ours.minCorrelation, ours.relayed, ours.late, ours.moved, ours.caughtUp, ours.dropped, ours.timed, ours.relayed*terminals,
		f(ours.transit.p50), f(ours.transit.p99), f(ours.transit.max), f(ours.slackMin), f(ours.slackP1), terminals, terminals,
		ours.kbps, ours.downKbps, ours.upKbps, ours.opusKbps, ours.segsIn, ours.segsOut, ours.wireKbps, load, liveTargets(ours, snap)))
}

// clientsNote says how many snapclients were tried, when fewer ran.
func clientsNote(s snapResult) string {
	if s.clients == s.wanted {
		return ""
	}
	return fmt.Sprintf(" (of %d tried: the machine could not start more within 20 s a batch)", s.wanted)
}

// targets says which of the targets this run met.
func liveTargets(ours ourLive, snap snapResult) string {
	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "**missed**"
	}
	return fmt.Sprintf("Targets: p95 at or below Snapcast's (%s vs %s): %s; no gap in the minute at any terminal (%d frames concealed): %s; under 32 kbit/s per terminal (%.1f, TCP payload): %s.",
		f(ours.latency.p95), f(snap.latency.p95), met(ours.latency.p95 <= snap.latency.p95), ours.concealed, met(ours.concealed == 0), ours.kbps, met(ours.kbps < 32))
}

type spread struct{ p50, p95, p99, max time.Duration }

func spreadOf(d []time.Duration) spread {
	return spread{pct(d, 50), pct(d, 95), pct(d, 99), pct(d, 100)}
}

type ourLive struct {
	frames, checked        int
	latency, spread        spread
	concealed              int
	minCorrelation         float64 // second by second, the lowest and the median at the terminals checked
	medianCorrelation      float64
	moved, caughtUp        time.Duration
	timed                  int // frame arrivals timed: those with a unique packet, written
	relayed, late          int
	dropped                int64
	kbps, downKbps, upKbps float64
	opusKbps, wireKbps     float64
	segsIn, segsOut        int64         // per terminal over the minute
	transit                spread        // frame sent by the speaker to arrived at a terminal
	slackMin, slackP1      time.Duration // frame arrived at a terminal to written there
	recorders              []*sinktest.Recorder
	conns                  []*countingConn
}

// benchOurLive runs the shout: a real controller, n terminals on their own connections.
func benchOurLive(b *testing.B, speech []byte, n int) ourLive {
	c := startController(b, "")
	inv := loadSite(b)
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx := context.Background()
	town := wire.Address{Tier: wire.TierTown, Code: inv.Terminals()[0].TownCode}
	opened, err := c.Live.Open(ctx, live.OpenRequest{Title: "防汛紧急喊话（基准）", Targets: []wire.Address{town}, By: "bench"})
	if err != nil {
		b.Fatal(err)
	}
	var r ourLive
	type outcome struct {
		concealed int32
		err       error
	}
	outcomes := make([]outcome, n)
	frames := (len(speech) + opusframe.PCMBytes - 1) / opusframe.PCMBytes
	r.frames = frames
	// What the terminals report is kept without pointers (times in Unix nanoseconds, packets
	// by hash) and in room made beforehand: 125 terminals' worth of time.Time values and
	// strings made the garbage collector's mark phase stall the very players it measured.
	type arrival struct {
		seq uint32 // as relayed: the hub renumbers frames when it moves a shout
		at  int64
		key uint64 // the Opus packet's hash: which of the speaker's frames this is
	}
	arrived := make([][]arrival, n)      // the frames each terminal received, in order
	wrote := make([]map[uint32]int64, n) // when each terminal wrote each frame, by sequence
	for i := range wrote {
		arrived[i] = make([]arrival, 0, frames+recentFramesSlack)
		wrote[i] = make(map[uint32]int64, frames+recentFramesSlack)
	}
	var wg sync.WaitGroup
	for i, t := range inv.Terminals()[:n] {
		cc := dialCounting(b, c)
		r.conns = append(r.conns, cc.counter)
		rec := &sinktest.Recorder{Sink: sink.NewNull(), KeepPCM: i < 3}
		rec.Reserve(frames+recentFramesSlack, opusframe.PCMBytes)
		r.recorders = append(r.recorders, rec)
		p := agentlive.New(agent.WithToken(cc.conn, t.ID, bundleFor(b, c, t.ID).Token), rec, t.ID, nil, quiet)
		p.Arrived = func(seq uint32, at time.Time, packet []byte) {
			arrived[i] = append(arrived[i], arrival{seq, at.UnixNano(), packetKey(packet)})
		}
		p.Wrote = func(seq uint32, at time.Time) { wrote[i][seq] = at.UnixNano() }
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, concealed, err := p.PlayLive(ctx, &dalabapb.PlayCommand{BroadcastId: opened.ID, LiveId: opened.ID}, 100)
			outcomes[i] = outcome{concealed, err}
		}()
	}
	eventually(b, 20*time.Second, func() error {
		if st, _ := c.Live.Stats(opened.ID); st.Listeners < n {
			return fmt.Errorf("%d of %d terminals listening", st.Listeners, n)
		}
		return nil
	})
	for _, cc := range r.conns {
		cc.snapshot()
	}
	// The speaker is its own process, as a staff member's computer is its own machine: it
	// does not wait for CPU behind the 125 simulated terminals.
	sp := speakInProcess(b, c, opened, speech)
	captured, packets := sp.captured, sp.packets
	var opusBytes int64
	for _, p := range packets {
		opusBytes += int64(len(p))
	}
	res := sp.result
	wg.Wait()
	duration := time.Duration(frames) * opusframe.Duration
	var down, up int64
	for _, cc := range r.conns {
		d, u, si, so := cc.since()
		down, up = down+d, up+u
		r.segsIn, r.segsOut = r.segsIn+si, r.segsOut+so
	}
	for i, o := range outcomes {
		if o.err != nil {
			b.Fatalf("terminal %d: PlayLive: %v", i, o.err)
		}
		r.concealed += int(o.concealed)
	}
	if int(res.Frames) != frames {
		b.Logf("the hub relayed %d frames of %d (it leaves out pauses to make up a move)", res.Frames, frames)
	}
	perTerm := func(bytes int64) float64 { return float64(bytes) * 8 / float64(n) / duration.Seconds() / 1000 }
	r.downKbps, r.upKbps = perTerm(down), perTerm(up)
	r.kbps = r.downKbps + r.upKbps
	r.opusKbps = float64(opusBytes) * 8 / duration.Seconds() / 1000
	r.segsIn, r.segsOut = r.segsIn/int64(n), r.segsOut/int64(n)
	r.wireKbps = r.kbps + float64((r.segsIn+r.segsOut)*52*8)/duration.Seconds()/1000

	// Latency: a frame a terminal received is the speaker's frame with the same Opus packet
	// (the hub renumbers frames when it moves a shout, and leaves out pauses to make the time
	// up); frames whose packet is not unique (silence) are not timed. A frame a terminal
	// skipped (its turn came too late) or concealed counts among the frames lost, not here.
	frameOf := map[uint64]int{}
	for k, packet := range packets {
		p := packetKey([]byte(packet))
		if _, seen := frameOf[p]; seen {
			frameOf[p] = -1
		} else {
			frameOf[p] = k
		}
	}
	var lat, spr, transit, slack []time.Duration
	written := make([][]time.Time, frames) // frame k's write time at every terminal that wrote it
	for i := range arrived {
		for _, got := range arrived[i] {
			k, ok := frameOf[got.key]
			ns, wrote := wrote[i][got.seq]
			if !ok || k < 0 || !wrote {
				continue
			}
			at, gotAt := time.Unix(0, ns), time.Unix(0, got.at)
			lat = append(lat, at.Sub(captured[k]))
			transit = append(transit, gotAt.Sub(captured[k].Add(opusframe.Duration)))
			slack = append(slack, at.Sub(gotAt))
			written[k] = append(written[k], at)
		}
	}
	for _, ts := range written {
		if len(ts) > 1 {
			lo, hi := ts[0], ts[0]
			for _, at := range ts {
				lo, hi = minTime(lo, at), maxTime(hi, at)
			}
			spr = append(spr, hi.Sub(lo))
		}
	}
	r.timed = len(lat)
	r.latency, r.spread, r.transit = spreadOf(lat), spreadOf(spr), spreadOf(transit)
	r.slackMin, r.slackP1 = pct(slack, 0), pct(slack, 1)
	r.minCorrelation, r.medianCorrelation = 1, 1
	for _, rec := range r.recorders[:3] {
		var corr []float64
		for _, m := range speechtest.FindEach(speechtest.Samples(speech), speechtest.Samples(rec.PCM()), wire.SampleRate, 2*wire.SampleRate) {
			corr = append(corr, m.Correlation)
		}
		slices.Sort(corr)
		r.minCorrelation, r.medianCorrelation = min(r.minCorrelation, corr[0]), min(r.medianCorrelation, corr[len(corr)/2])
		r.checked++
	}
	st, _ := c.Live.Stats(opened.ID)
	r.relayed, r.late, r.dropped, r.moved, r.caughtUp = st.Frames, st.Late, st.Dropped, st.Moved, st.CaughtUp
	return r
}

// speakerHelperEnv makes the test binary a speaker's client (see init), given
// "grpc-address live-id stream-key speech-file".
const speakerHelperEnv = "DALABA_BENCH_SPEAKER"

func init() {
	if args := os.Getenv(speakerHelperEnv); args != "" {
		os.Exit(speakerHelper(strings.Fields(args)))
	}
}

// speakerHelper speaks a file of system-format PCM to a shout, paced, and prints each frame
// sent: its number, capture time (µs) and Opus packet (hex); then the result.
func speakerHelper(args []string) int {
	if len(args) != 5 {
		fmt.Fprintln(os.Stderr, "speaker helper: want grpc-address live-id stream-key speech-file ca-file")
		return 2
	}
	tlsConfig, err := provision.ReadCA(args[4])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	speech, err := os.ReadFile(args[3])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	conn, err := grpc.NewClient(args[0], agent.Options{TLS: tlsConfig}.TransportCredentials())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer conn.Close()
	lines := make([]string, 0, len(speech)/opusframe.PCMBytes+1) // printed at the end: writing while speaking would be in the way
	res, err := live.Speak(context.Background(), conn, live.Opened{ID: args[1], StreamKey: args[2]}, live.Speech{
		Source: bytes.NewReader(speech), Paced: true,
		Sent: func(seq uint32, at time.Time, packet []byte) {
			lines = append(lines, fmt.Sprintf("%d %d %x", seq, at.UnixMicro(), packet))
		}})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fmt.Println(strings.Join(lines, "\n"))
	fmt.Printf("result %d\n", res.Frames)
	return 0
}

type spoken struct {
	captured []time.Time
	packets  []string
	result   *dalabapb.ShoutResult
}

// speakInProcess runs the speaker helper: the test binary again, as its own process.
func speakInProcess(b *testing.B, c *controller.Controller, o live.Opened, speech []byte) spoken {
	file := filepath.Join(b.TempDir(), "speech.raw")
	if err := os.WriteFile(file, speech, 0o644); err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), speakerHelperEnv+"="+strings.Join([]string{c.GRPCAddr, o.ID, o.StreamKey, file, c.CAFile}, " "))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		b.Fatalf("speaker: %v: %s", err, stderr.String())
	}
	frames := (len(speech) + opusframe.PCMBytes - 1) / opusframe.PCMBytes
	sp := spoken{captured: make([]time.Time, frames), packets: make([]string, frames), result: &dalabapb.ShoutResult{}}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var seq int
		var us int64
		var hexPacket string
		if n, _ := fmt.Sscanf(line, "result %d", &sp.result.Frames); n == 1 {
			continue
		}
		if n, err := fmt.Sscanf(line, "%d %d %s", &seq, &us, &hexPacket); n != 3 || err != nil || seq >= frames {
			b.Fatalf("speaker said %q", line)
		}
		p, err := hex.DecodeString(hexPacket)
		if err != nil {
			b.Fatal(err)
		}
		sp.captured[seq], sp.packets[seq] = time.UnixMicro(us), string(p)
	}
	return sp
}

// recentFramesSlack is room for frames beyond the speech's own: a moved shout renumbers.
const recentFramesSlack = 64

// packetKey names an Opus packet by its hash (FNV-1a, 64 bits): no pointer to keep.
func packetKey(packet []byte) uint64 {
	h := fnv.New64a()
	h.Write(packet)
	return h.Sum64()
}

// loadAverage is the 1-minute load average, as /proc/loadavg says.
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// countingConn counts the TCP payload an agent's connection carries, and reads the kernel's
// segment counts for it.
type countingConn struct {
	net.Conn
	read, written atomic.Int64
	mark          [4]int64 // read, written, segments in, out at snapshot
}

func (c *countingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.read.Add(int64(n))
	return n, err
}

func (c *countingConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	c.written.Add(int64(n))
	return n, err
}

// segments are TCP segments received and sent on the connection (pure ACKs included).
func (c *countingConn) segments() (in, out int64) {
	raw, err := c.Conn.(*net.TCPConn).SyscallConn()
	if err != nil {
		return 0, 0
	}
	raw.Control(func(fd uintptr) {
		if info, err := unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO); err == nil {
			in, out = int64(info.Segs_in), int64(info.Segs_out)
		}
	})
	return in, out
}

func (c *countingConn) snapshot() {
	in, out := c.segments()
	c.mark = [4]int64{c.read.Load(), c.written.Load(), in, out}
}

// since is what passed since the snapshot: payload down (read) and up (written), segments.
func (c *countingConn) since() (down, up, segsIn, segsOut int64) {
	in, out := c.segments()
	return c.read.Load() - c.mark[0], c.written.Load() - c.mark[1], in - c.mark[2], out - c.mark[3]
}

type countedClient struct {
	conn    *grpc.ClientConn
	counter *countingConn
}

// dialCounting opens one gRPC connection to c whose bytes are counted (TLS included), as an
// agent dials (agentlive.DialOptions).
func dialCounting(b *testing.B, c *controller.Controller) countedClient {
	var cc countedClient
	dialed := make(chan struct{})
	opts := append(agentlive.DialOptions(), grpcCreds(b, c))
	conn, err := grpc.NewClient(c.GRPCAddr, append(opts,
		grpc.WithContextDialer(func(ctx context.Context, a string) (net.Conn, error) {
			var d net.Dialer
			c, err := d.DialContext(ctx, "tcp", a)
			if err != nil {
				return nil, err
			}
			if cc.counter != nil {
				return nil, fmt.Errorf("bench: a second connection would go uncounted")
			}
			cc.counter = &countingConn{Conn: c}
			close(dialed)
			return cc.counter, nil
		}))...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { conn.Close() })
	conn.Connect()
	select {
	case <-dialed:
	case <-time.After(10 * time.Second):
		b.Fatal("bench: gRPC connection not dialed")
	}
	cc.conn = conn
	return cc
}
