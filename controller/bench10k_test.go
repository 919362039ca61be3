package controller_test

// The county-scale benchmark: 10,000 simulated terminals. The process open-files limit here is
// 20,000, so the controller (with its embedded broker) and the simulated fleet run as separate
// processes, as they would in production.

import (
	"bufio"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dalaba/controller"
	"dalaba/controller/broker"
	"dalaba/proto/wire"
	"dalaba/terminal-agent/sink/alsatest"
)

const bigTown = "361126104"

// The sentinel is one more terminal, in a village of its own, run as a real agent process
// beside the simulated fleet: the benchmark silences it to time the controller's detection.
const (
	sentinelVillage = bigTown + "999"
	sentinelLine    = "sentinel,070136112610499901," + bigTown + ",大镇," + sentinelVillage + ",哨兵村," + sentinelVillage + "001,哨兵组,28.5,117.5\n"
)

// writeBigSite writes a synthetic town of n terminals: villages of 100 terminals in groups of 10,
// plus the sentinel if asked.
func writeBigSite(tb testing.TB, n int, sentinel bool) string {
	var b strings.Builder
	b.WriteString("terminal_id,resource_code,town_code,town_name,village_code,village_name,group_code,group_name,latitude,longitude\n")
	for i := range n {
		v, g, k := 101+i/100, 1+(i%100)/10, i%100
		village := fmt.Sprintf("%s%03d", bigTown, v)
		fmt.Fprintf(&b, "x%05d,0701%s%02d,%s,大镇,%s,村%d,%s%03d,组%d,28.%05d,117.%05d\n",
			i, village, k, bigTown, village, v, village, g, g, i, i)
	}
	if sentinel {
		b.WriteString(sentinelLine)
	}
	p := filepath.Join(tb.TempDir(), "site.csv")
	if err := os.WriteFile(p, []byte(b.String()), 0o644); err != nil {
		tb.Fatal(err)
	}
	return p
}

// handedOut holds every address freeAddr gave: the kernel may hand a port just closed out
// again, and a controller given the same port for MQTT and gRPC fails to start.
var handedOut sync.Map

// freeAddr returns a loopback address free now and not given before in this test binary.
func freeAddr(tb testing.TB) string {
	for range 100 {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		if _, given := handedOut.LoadOrStore(addr, true); !given {
			return addr
		}
	}
	tb.Fatal("no free loopback port not given out before")
	return ""
}

// proc is a benchmark subprocess.
type proc struct {
	cmd *exec.Cmd
	out io.ReadCloser
}

func spawn(tb testing.TB, name string, args ...string) *proc {
	cmd := exec.Command(filepath.Join(binDir, name), args...)
	out, _ := cmd.StdoutPipe()
	logf, _ := os.Create(filepath.Join(tb.TempDir(), name+".log"))
	cmd.Stderr = logf
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
	return &proc{cmd: cmd, out: out}
}

// peakRSS is a process's peak resident memory, from /proc.
func peakRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, "VmHWM:") {
			kb, err := strconv.ParseInt(strings.Fields(l)[1], 10, 64)
			return kb * 1024, err
		}
	}
	return 0, fmt.Errorf("no VmHWM")
}

// rawFanout10k publishes one message at a time through bus to a fanout-probe process holding
// one paho client per terminal, and returns how long each took to reach the last of them.
func rawFanout10k(b *testing.B, bus broker.Bus, brokerURL, site string, rounds int) []time.Duration {
	p := spawn(b, "fanout-probe", "--site", site, "--broker", brokerURL)
	lines := bufio.NewScanner(p.out)
	if !lines.Scan() || lines.Text() != "ready" {
		b.Fatalf("fanout-probe: %q", lines.Text())
	}
	town := wire.CommandTopic(wire.Address{Tier: wire.TierTown, Code: bigTown})
	var out []time.Duration
	for range rounds {
		payload := make([]byte, 300)
		binary.BigEndian.PutUint64(payload, uint64(time.Now().UnixNano()))
		if err := bus.Publish(town, payload, 1, false); err != nil {
			b.Fatal(err)
		}
		if !lines.Scan() {
			b.Fatal("fanout-probe stopped")
		}
		f := strings.Fields(lines.Text())
		ns, _ := strconv.ParseInt(f[len(f)-1], 10, 64)
		out = append(out, time.Duration(ns))
		time.Sleep(500 * time.Millisecond)
	}
	p.cmd.Process.Kill()
	return out
}

type fleetFigures struct {
	online                time.Duration
	playing, receiptsRate []float64 // per round: seconds to all playing, receipts per second
	peakRSS               int64
	silent                []time.Duration // SIGSTOP of the sentinel until the controller says offline
}

// sentinelHeartbeat is the sentinel's heartbeat period; detection must come within two.
const sentinelHeartbeat = time.Second

// timeSilentDetection runs the sentinel agent, freezes it (SIGSTOP: its TCP connection stays
// up, so no Last Will fires; only missed heartbeats tell) and times how long until the
// controller's metrics show its village with no terminal online. Three times.
func timeSilentDetection(b *testing.B, httpAddr, brokerURL, grpcAddr, keyFile, provisioned string) []time.Duration {
	home, _ := alsatest.Home(b)
	cmd := exec.Command(filepath.Join(binDir, "terminal-agent"), "--id", "sentinel", "--group", sentinelVillage+"001",
		"--broker", brokerURL, "--grpc", grpcAddr, "--heartbeat", sentinelHeartbeat.String(), "--controller-key", keyFile,
		"--provision", filepath.Join(provisioned, "sentinel.json"))
	cmd.Env = alsatest.Env(home)
	var log syncBuffer
	cmd.Stderr = &log
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { cmd.Process.Kill(); cmd.Wait() }()
	online := func(want string) {
		metric := `dalaba_terminals_online{village="` + sentinelVillage + `"} ` + want
		deadline := time.Now().Add(30 * time.Second)
		for {
			resp, err := http.Get("http://" + httpAddr + "/metrics")
			if err == nil {
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				if strings.Contains(string(body), metric) {
					return
				}
			}
			if time.Now().After(deadline) {
				b.Fatalf("sentinel never reached %s; its log ends:\n%s", metric, tail([]byte(log.String()), 10))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	var out []time.Duration
	for range 3 {
		online("1")
		time.Sleep(sentinelHeartbeat / 2)
		start := time.Now()
		cmd.Process.Signal(syscall.SIGSTOP)
		online("0")
		out = append(out, time.Since(start))
		cmd.Process.Signal(syscall.SIGCONT)
	}
	return out
}

// BenchmarkFleet10k runs the embedded broker, the default.
func BenchmarkFleet10k(b *testing.B) {
	if b.N == 1 {
		return // the testing package's probe run
	}
	site := writeBigSite(b, 10000, false)
	bus, err := broker.StartEmbedded(broker.EmbeddedOptions{Addr: "127.0.0.1:0", Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		b.Fatal(err)
	}
	raw := rawFanout10k(b, bus, "tcp://"+bus.Addr(), site, min(b.N, 5))
	bus.Close()
	fleet10k(b, "fleet-10k-embedded", "embedded mochi broker inside the controller; raw fan-out: in-process publish on embedded mochi", site, raw, "")
}

// BenchmarkFleet10kMosquitto runs an external Mosquitto, the county-scale deployment.
func BenchmarkFleet10kMosquitto(b *testing.B) {
	if b.N == 1 {
		return
	}
	site := writeBigSite(b, 10000, false)
	m := newMosquitto(b)
	bus, err := broker.ConnectExternal(m.url(), "bench-publisher", nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	raw := rawFanout10k(b, bus, m.url(), site, min(b.N, 5))
	bus.Close()
	fleet10k(b, "fleet-10k-mosquitto", "external Mosquitto (Debian package); the controller is one of its clients; raw fan-out: a paho publisher", site, raw, m.url())
}

// provisionBeforehand runs the controller once on dataDir with site, to make its keys, CA and
// every terminal's provisioning bundle, and returns the bundles' directory.
func provisionBeforehand(b *testing.B, dataDir, site string) string {
	dir := filepath.Join(b.TempDir(), "provision")
	ctx, cancel := context.WithCancel(context.Background())
	c, err := controller.Start(ctx, controller.Options{HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
		DataDir: dataDir, SiteCSV: site, AdminPassword: adminPassword, ProvisionDir: dir, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		cancel()
		b.Fatal(err)
	}
	cancel()
	c.Wait()
	return dir
}

func fleet10k(b *testing.B, name, setup, site string, raw []time.Duration, brokerURL string) {
	const n = 10000
	rounds := min(b.N, 5)
	httpAddr, mqttAddr, grpcAddr := freeAddr(b), freeAddr(b), freeAddr(b)
	embedded := brokerURL == ""
	if embedded {
		brokerURL = "tls://" + mqttAddr
	}
	// The controller's signing key, CA and every terminal's token made before it starts, as an
	// installer would, so that the terminals can be given them.
	dataDir, ctlSite := filepath.Join(b.TempDir(), "data"), writeBigSite(b, n, true)
	provisioned := provisionBeforehand(b, dataDir, ctlSite)
	keyFile := filepath.Join(dataDir, controller.SigningPubKeyFile)
	sim := spawn(b, "fleet-sim", "--site", site, "--broker", brokerURL, "--grpc", grpcAddr, "--controller-key", keyFile,
		"--provision", provisioned, "--ready-file", filepath.Join(b.TempDir(), "ready"))
	waitFile(b, sim, 2*time.Minute) // every simulated terminal is up and retrying before the controller starts
	start := time.Now()
	args := []string{"--site", ctlSite, "--data", dataDir, "--http", httpAddr, "--mqtt", mqttAddr, "--grpc", grpcAddr,
		"--admin-password", adminPassword}
	if !embedded {
		args = append(args, "--broker", brokerURL)
	}
	ctl := spawn(b, "controller", args...)
	var fig fleetFigures
	deadline := time.Now().Add(5 * time.Minute)
	for {
		var h struct{ Online int }
		if resp, err := http.Get("http://" + httpAddr + "/healthz"); err == nil {
			json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
		}
		if h.Online >= n {
			fig.online = time.Since(start)
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("after 5 min only %d of %d terminals online", h.Online, n)
		}
		time.Sleep(100 * time.Millisecond)
	}

	for i := range rounds {
		// A new program every round, so every round includes every terminal's fetch.
		wav := toneWAV(b, 500+float64(100*i), 300*time.Millisecond)
		t0 := time.Now()
		code, body := postTo(b, httpAddr, map[string]string{"title": fmt.Sprintf("全镇 %d", i), "targets": "town:" + bigTown}, wav)
		if code != 201 {
			b.Fatalf("post: %d %v", code, body)
		}
		rep := awaitFinishedReport(b, httpAddr, body["id"].(string))
		var first, lastPlaying time.Time
		playing := 0
		for _, r := range rep.Receipts {
			if r.PlayingAt.IsZero() {
				continue
			}
			playing++
			if first.IsZero() || r.ReceivedAt.Before(first) {
				first = r.ReceivedAt
			}
			if r.PlayingAt.After(lastPlaying) {
				lastPlaying = r.PlayingAt
			}
		}
		if playing != n {
			b.Fatalf("round %d: %d of %d terminals reached playing: %v", i, playing, n, rep.Counts)
		}
		fig.playing = append(fig.playing, lastPlaying.Sub(t0).Seconds())
		fig.receiptsRate = append(fig.receiptsRate, float64(3*n)/lastPlaying.Sub(first).Seconds())
		time.Sleep(time.Second)
	}
	var err error
	if fig.peakRSS, err = peakRSS(ctl.cmd.Process.Pid); err != nil {
		b.Fatal(err)
	}
	fig.silent = timeSilentDetection(b, httpAddr, brokerURL, grpcAddr, keyFile, provisioned)
	b.ReportMetric(median(fig.playing)*1000, "ms-p50-all-playing")
	b.ReportMetric(ms(pct(raw, 50)), "ms-p50-raw-fanout")
	b.ReportMetric(float64(fig.peakRSS>>20), "MiB-controller-peak")
	writeBenchReport(b, name, fleetReport(n, rounds, setup, raw, fig))
}

func fleetReport(n, rounds int, setup string, raw []time.Duration, fig fleetFigures) string {
	p50 := median(fig.playing)
	rawP50 := pct(raw, 50).Seconds()
	return fmt.Sprintf(`%d simulated terminals in one town (synthetic site: 100 villages of 100); controller and
fleet-sim in separate processes; %s. %d whole-town broadcasts of a new 0.3 s program each.

| figure | value |
|---|---|
| raw MQTT fan-out of one 300 B QoS 1 message to %d subscribers (fanout-probe process), p50 (max) of %d | %s (%s) |
| controller start until all %d terminals online | %.1f s |
| POST until all %d receipts `+"`playing`"+`, p50 (max) | %.0f ms (%.0f ms) |
| ratio to raw fan-out p50 (target <= 2x) | **%.1fx** |
| receipts ingested per second, p50 (received+fetched+playing between the first and the last) | %.0f/s |
| controller peak resident memory (VmHWM; target < 300 MB) | %d MiB |
| a frozen terminal (SIGSTOP, heartbeat %s) until the controller shows it offline, p50 (max) of 3 | %s (%s) |
`, n, setup, rounds, n, rounds, f(pct(raw, 50)), f(pct(raw, 100)), n, fig.online.Seconds(), n,
		p50*1000, maxOf(fig.playing)*1000, p50/rawP50, median(fig.receiptsRate), fig.peakRSS>>20,
		sentinelHeartbeat, f(pct(fig.silent, 50)), f(pct(fig.silent, 100)))
}

func median(v []float64) float64 {
	d := make([]time.Duration, len(v))
	for i, x := range v {
		d[i] = time.Duration(x * float64(time.Second))
	}
	return pct(d, 50).Seconds()
}

func maxOf(v []float64) float64 {
	m := 0.0
	for _, x := range v {
		m = max(m, x)
	}
	return m
}

// waitFile waits for fleet-sim to write its --ready-file.
func waitFile(b *testing.B, p *proc, timeout time.Duration) {
	path := p.cmd.Args[len(p.cmd.Args)-1]
	deadline := time.Now().Add(timeout)
	for {
		if _, err := os.Stat(path); err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("fleet-sim not ready after %v", timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
