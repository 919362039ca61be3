package controller_test

// A harness that runs the real system on free ports: the controller in-process, terminal agents
// as separate processes whose ALSA output goes into files (see sink/alsatest).

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"dalaba/controller"
	"dalaba/controller/audio"
	"dalaba/controller/receipts"
	"dalaba/terminal-agent/sink/alsatest"
)

// binDir holds the commands built once for the whole test binary.
var binDir string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "dalaba-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", dir+"/", "../cmd/...")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "build commands:", err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

var siteCSV = filepath.Join("..", "testdata", "caoxi-terminals.csv")

const (
	village201 = "361126104201" // 曹溪村, t001-t012
	village202 = "361126104202" // t013-t024
)

// eventually polls f until it returns nil or timeout passes.
func eventually(t testing.TB, timeout time.Duration, f func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("not after %v: %v", timeout, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startController runs a controller with the Caoxi site on free ports; it stops at cleanup.
func startController(t testing.TB, brokerURL string) *controller.Controller {
	t.Helper()
	return startControllerWith(t, brokerURL, nil)
}

// startOpenController runs a lab controller whose embedded broker anyone may use, in plain
// TCP (--insecure-plaintext --insecure-open-broker): for tests of what an attacker on an open
// broker can do, which only the signatures stop.
func startOpenController(t testing.TB) *controller.Controller {
	t.Helper()
	return startControllerWith(t, "", func(o *controller.Options) { o.Plaintext, o.OpenBroker = true, true })
}

// startControllerWith is startController with options changed by set (nil: none).
func startControllerWith(t testing.TB, brokerURL string, set func(*controller.Options)) *controller.Controller {
	t.Helper()
	dir := t.TempDir()
	logf, err := os.Create(filepath.Join(dir, "controller.log"))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	opts := controller.Options{
		HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0", GRPCAddr: "127.0.0.1:0",
		DataDir: filepath.Join(dir, "data"), SiteCSV: siteCSV, BrokerURL: brokerURL, AdminPassword: adminPassword,
		Logger: slog.New(slog.NewTextHandler(logf, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if set != nil {
		set(&opts)
	}
	c, err := controller.Start(ctx, opts)
	if err != nil {
		cancel()
		t.Fatalf("start controller: %v", err)
	}
	t.Cleanup(func() {
		cancel()
		c.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("controller log:\n%s", tail(b, 60))
		}
		logf.Close()
	})
	// Log in now, before any agent runs: bcrypt under the race detector takes a second of CPU,
	// which mid-test could starve a terminal's heartbeats.
	adminToken(t, c.HTTPAddr)
	return c
}

func tail(b []byte, lines int) string {
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(ls[max(0, len(ls)-lines):], "\n")
}

// agentProc is a terminal-agent process playing into a file through ALSA.
type agentProc struct {
	id, group string
	cmd       *exec.Cmd
	out       string // raw float32 samples that reached "the sound card"
	log       *syncBuffer
	exited    chan struct{}
}

// syncBuffer collects a process's output while the test reads it.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func startAgent(t testing.TB, c *controller.Controller, brokerURL, id, group string, extra ...string) *agentProc {
	t.Helper()
	return startAgentIn(t, "", c, brokerURL, id, group, extra...)
}

// startAgentIn is startAgent in network namespace netns (ip netns exec; "": this one).
func startAgentIn(t testing.TB, netns string, c *controller.Controller, brokerURL, id, group string, extra ...string) *agentProc {
	t.Helper()
	home, out := alsatest.Home(t)
	if brokerURL == "" {
		brokerURL = brokerURLOf(c)
	}
	a := &agentProc{id: id, group: group, out: out, log: new(syncBuffer), exited: make(chan struct{})}
	args := append([]string{"--id", id, "--group", group, "--broker", brokerURL, "--grpc", c.GRPCAddr,
		"--controller-key", c.CommandKeyFile, "--provision", bundleFile(t, c, id), "-v"}, plainFlags(c)...)
	args = append(args, extra...)
	a.cmd = exec.Command(filepath.Join(binDir, "terminal-agent"), args...)
	if netns != "" { // ip execs the agent in place: the process is still the agent's
		a.cmd = exec.Command("ip", append([]string{"netns", "exec", netns, a.cmd.Path}, args...)...)
	}
	a.cmd.Env = alsatest.Env(home)
	a.cmd.Stdout, a.cmd.Stderr = a.log, a.log
	if err := a.cmd.Start(); err != nil {
		t.Fatalf("start agent %s: %v", id, err)
	}
	go func() { a.cmd.Wait(); close(a.exited) }()
	t.Cleanup(func() {
		a.stop()
		if t.Failed() {
			t.Logf("agent %s log:\n%s", id, tail([]byte(a.log.String()), 30))
		}
	})
	return a
}

// stop ends the agent gracefully and waits for its audio file to be complete.
func (a *agentProc) stop() {
	select {
	case <-a.exited:
		return
	default:
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(10 * time.Second):
		a.cmd.Process.Kill()
		<-a.exited
	}
}

// kill ends the agent like a power cut.
func (a *agentProc) kill() {
	a.cmd.Process.Kill()
	<-a.exited
}

// heard stops the agents and analyses what reached each one's sound card.
//
// The file lags the device by what the pipe into pv holds (up to about a second at the paced
// rate), so first let every file grow by 1.5 s: then everything played before this call is in
// it. Stopping earlier would also drop the samples still in ALSA's buffer, as a real sound card
// would.
func heard(t testing.TB, agents ...*agentProc) map[string]alsatest.Analysis {
	t.Helper()
	const settle = 3 * alsatest.FileBytesPerSecond / 2
	size := func(a *agentProc) int64 {
		fi, err := os.Stat(a.out)
		if err != nil {
			return 0
		}
		return fi.Size()
	}
	start := map[string]int64{}
	for _, a := range agents {
		start[a.id] = size(a)
	}
	eventually(t, 10*time.Second, func() error {
		for _, a := range agents {
			if size(a) < start[a.id]+settle {
				return fmt.Errorf("agent %s audio file not growing: %d bytes", a.id, size(a))
			}
		}
		return nil
	})
	var wg sync.WaitGroup
	for _, a := range agents {
		wg.Add(1)
		go func() { defer wg.Done(); a.stop() }()
	}
	wg.Wait()
	out := map[string]alsatest.Analysis{}
	for _, a := range agents {
		if err := alsatest.WaitStable(a.out, 300*time.Millisecond, 15*time.Second); err != nil {
			t.Fatalf("agent %s audio file: %v", a.id, err)
		}
		samples, err := alsatest.ReadFloat32(a.out)
		if err != nil {
			t.Fatalf("agent %s audio file: %v", a.id, err)
		}
		out[a.id] = alsatest.Analyze(samples, 16000, 0.05)
	}
	return out
}

// waitOnline waits until the controller sees every agent online.
func waitOnline(t testing.TB, c *controller.Controller, agents ...*agentProc) {
	t.Helper()
	eventually(t, 15*time.Second, func() error {
		for _, a := range agents {
			if !c.Presence.Get(a.id).Online {
				return fmt.Errorf("%s not online", a.id)
			}
		}
		return nil
	})
}

// toneWAV is a tone as a 44.1 kHz stereo WAV upload, so every broadcast also exercises the
// conversion to the system format.
func toneWAV(t testing.TB, hz float64, d time.Duration) []byte {
	t.Helper()
	b, err := audio.EncodeWAV(audio.Tone(hz, d, 44100, 2, 0.5), 44100, 2)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func writeFile(t testing.TB, name string, b []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// post sends a broadcast through the HTTP API and returns the status and decoded body.
func post(t testing.TB, c *controller.Controller, fields map[string]string, wav []byte) (int, map[string]any) {
	t.Helper()
	return postTo(t, c.HTTPAddr, fields, wav)
}

func postTo(t testing.TB, httpAddr string, fields map[string]string, wav []byte) (int, map[string]any) {
	t.Helper()
	req, err := broadcastRequest(httpAddr, fields, wav)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := asAdmin(t, req)
	if err != nil {
		t.Fatal(err)
	}
	return decodeBody(t, resp)
}

// broadcastRequest is POST /api/v1/broadcasts with the form fields and the WAV as its audio.
func broadcastRequest(httpAddr string, fields map[string]string, wav []byte) (*http.Request, error) {
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	if wav != nil {
		part, _ := mw.CreateFormFile("audio", "program.wav")
		part.Write(wav)
	}
	mw.Close()
	req, err := http.NewRequest("POST", "http://"+httpAddr+"/api/v1/broadcasts", &body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return req, nil
}

// get GETs path as the admin and decodes the JSON answer.
func get(t testing.TB, c *controller.Controller, path string) (int, any) {
	t.Helper()
	resp, err := adminGet(t, "http://"+c.HTTPAddr+path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var v any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatalf("GET %s: %v: %s", path, err, b)
	}
	return resp.StatusCode, v
}

func decodeBody(t testing.TB, resp *http.Response) (int, map[string]any) {
	t.Helper()
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("decode %s: %v: %s", resp.Request.URL, err, b)
	}
	return resp.StatusCode, m
}

// ebctl runs the CLI and returns its output and exit code.
func ebctl(t testing.TB, c *controller.Controller, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "ebctl"), args...)
	cmd.Env = append(os.Environ(), "DALABA_SERVER=http://"+c.HTTPAddr, "DALABA_TOKEN="+adminToken(t, c.HTTPAddr))
	out, err := cmd.CombinedOutput()
	if err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return string(out), ee.ExitCode()
		}
		t.Fatalf("ebctl: %v", err)
	}
	return string(out), 0
}

// report is a broadcast report as the API answers it.
type report struct {
	State    string             `json:"state"`
	Counts   receipts.Counts    `json:"counts"`
	Receipts []receipts.Receipt `json:"receipts"`
}

// awaitFinishedReport long-polls the API until the broadcast has finished.
func awaitFinishedReport(t testing.TB, httpAddr, id string) report {
	t.Helper()
	deadline := time.Now().Add(2 * time.Minute)
	for {
		resp, err := adminGet(t, "http://"+httpAddr+"/api/v1/broadcasts/"+id+"?wait=finished&timeout=30s")
		if err != nil {
			t.Fatal(err)
		}
		var rep report
		err = json.NewDecoder(resp.Body).Decode(&rep)
		resp.Body.Close()
		if err != nil {
			t.Fatal(err)
		}
		if rep.State == receipts.StateFinished {
			return rep
		}
		if time.Now().After(deadline) {
			t.Fatalf("broadcast %s not finished: %v", id, rep.Counts)
		}
	}
}

// Every API route but the login and the public archive needs a session: the helpers above act
// as the controller's admin (adminPassword), logged in once per controller and test. Tests of
// who may do what log in as their own staff (review_harness_test.go, auth_*_test.go).

var adminTokens sync.Map // HTTP address -> admin session token

// adminToken is a session of user admin on the controller at httpAddr, which must have been
// started with AdminPassword: adminPassword. It is forgotten when t ends (the next controller
// may get the same port).
func adminToken(t testing.TB, httpAddr string) string {
	t.Helper()
	if tok, ok := adminTokens.Load(httpAddr); ok {
		return tok.(string)
	}
	body := strings.NewReader(`{"name": "admin", "password": "` + adminPassword + `"}`)
	resp, err := http.Post("http://"+httpAddr+"/api/v1/login", "application/json", body)
	if err != nil {
		t.Fatal(err)
	}
	code, m := decodeBody(t, resp)
	tok, _ := m["token"].(string)
	if code != 200 || tok == "" {
		t.Fatalf("log in as admin at %s: %d %v (start the controller with AdminPassword: adminPassword)", httpAddr, code, m)
	}
	adminTokens.Store(httpAddr, tok)
	t.Cleanup(func() { adminTokens.CompareAndDelete(httpAddr, tok) })
	return tok
}

// asAdmin sends req with the admin's session.
func asAdmin(t testing.TB, req *http.Request) (*http.Response, error) {
	t.Helper()
	req.Header.Set("Authorization", "Bearer "+adminToken(t, req.URL.Host))
	return http.DefaultClient.Do(req)
}

// adminGet is http.Get as the admin.
func adminGet(t testing.TB, url string) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest("GET", url, nil)
	if err != nil {
		return nil, err
	}
	return asAdmin(t, req)
}

// adminPost is http.Post as the admin.
func adminPost(t testing.TB, url, contentType string, body io.Reader) (*http.Response, error) {
	t.Helper()
	req, err := http.NewRequest("POST", url, body)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", contentType)
	return asAdmin(t, req)
}
