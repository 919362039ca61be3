package controller_test

// Live shouting (喊话) end to end: a member of staff speaks with ebctl shout (from a WAV file,
// stdin, or the ALSA capture device), the controller relays the Opus frames, real agent
// processes play them through ALSA into files, and the speech is found there; a sender killed
// mid-shout leaves every horn stopped and its receipt failed (stream lost); a wrong stream key
// is refused.

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"dalaba/controller"
	"dalaba/controller/audio"
	"dalaba/controller/receipts"
	"dalaba/proto/dalabapb"
	"dalaba/proto/opusframe/speechtest"
	"dalaba/proto/wire"
	"dalaba/terminal-agent/sink/alsatest"
)

// shoutText is two sentences: about four seconds of speech.
const shoutText = "Attention please. The river is rising near the old bridge."

// shoutSetup is a controller, the two agents of group 杨家坪 (t001, t002) playing into ALSA
// files, and the admin logged in to ebctl.
func shoutSetup(t *testing.T) (*controller.Controller, []*agentProc, *staffCLI) {
	t.Helper()
	c, _ := startReview(t, nil)
	agents := []*agentProc{startAgent(t, c, "", "t001", group201001), startAgent(t, c, "", "t002", group201001)}
	waitOnline(t, c, agents...)
	admin := newStaffCLI(t, c)
	admin.ok(adminPassword+"\n", []string{"已登录"}, "login", "--user", "admin")
	return c, agents, admin
}

// wavOf wraps system-format PCM as a WAV file.
func wavOf(t *testing.T, pcm []byte) string {
	t.Helper()
	samples := make([]int16, len(pcm)/2)
	for i := range samples {
		samples[i] = int16(binary.LittleEndian.Uint16(pcm[2*i:]))
	}
	b, err := audio.EncodeWAV(samples, wire.SampleRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	return writeFile(t, "shout.wav", b)
}

// heardSpeech stops the agents and finds what was said in each one's ALSA output, second by
// second: a shout whose speaker stalled plays the rest later (after a concealed pause: that
// second matches less), and every word must still be there.
func heardSpeech(t *testing.T, c *controller.Controller, id string, said []byte, agents ...*agentProc) {
	t.Helper()
	heard(t, agents...)
	for _, a := range agents {
		f32, err := alsatest.ReadFloat32(a.out)
		if err != nil {
			t.Fatal(err)
		}
		got := make([]float64, len(f32))
		for i, v := range f32 {
			got[i] = float64(v)
		}
		pieces := speechtest.FindEach(speechtest.Samples(said), got, wire.SampleRate, 2*wire.SampleRate)
		var corr []float64
		for _, m := range pieces {
			corr = append(corr, m.Correlation)
		}
		t.Logf("%s: speech found second by second from sample %d, correlations %.3f", a.id, pieces[0].Lag, corr)
		sort.Float64s(corr)
		st, _ := c.Live.Stats(id)
		poor := 0
		for _, c := range corr {
			if c < 0.8 {
				poor++
			}
		}
		if poor > st.Late || corr[len(corr)/2] < 0.9 {
			t.Errorf("%s: the speech reached its horn with correlations %.3f second by second, want > 0.8 except where the shout was moved (%d times)", a.id, corr, st.Late)
		}
	}
}

func shoutID(t *testing.T, out string) string {
	t.Helper()
	m := regexp.MustCompile(`喊话开始：([0-9a-f-]+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no shout id in:\n%s", out)
	}
	return m[1]
}

// checkReceipts wants every receipt of the shout in state, with reason.
func checkReceipts(t *testing.T, c *controller.Controller, id string, state receipts.State, reason receipts.Reason) {
	t.Helper()
	rep := awaitFinishedReport(t, c.HTTPAddr, id)
	if len(rep.Receipts) != 2 {
		t.Fatalf("shout %s has %d receipts, want 2: %+v", id, len(rep.Receipts), rep.Receipts)
	}
	for _, r := range rep.Receipts {
		if r.State != state || r.Reason != reason {
			t.Errorf("%s: receipt %s/%s (%s), want %s/%s", r.Terminal, r.State, r.Reason, r.Detail, state, reason)
		}
	}
}

func TestShoutFromWAVHeardThroughALSA(t *testing.T) {
	c, agents, admin := shoutSetup(t)
	said := speechtest.Speak(t, shoutText)
	out := admin.ok("", []string{"喊话开始", "喊话结束", "完成 2，失败 0"},
		"shout", "--to", "group:"+group201001, "--title", "防汛喊话", "--wav", wavOf(t, said), "--lead-in", "2s")
	t.Logf("ebctl shout:\n%s", out)
	id := shoutID(t, out)
	checkReceipts(t, c, id, receipts.Done, "")
	heardSpeech(t, c, id, said, agents...)
}

func TestShoutSenderKilledStopsEveryHorn(t *testing.T) {
	c, _, admin := shoutSetup(t)
	// A long shout from stdin (raw PCM, paced by ebctl), cut off by killing the sender.
	raw := writeFile(t, "speech.raw", speechtest.Speak(t, speechtest.Text))
	in, err := os.Open(raw)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	cmd := admin.command("shout", "--to", "group:"+group201001, "--stdin", "--lead-in", "2s")
	cmd.Stdin = in
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var id string
	eventually(t, 10*time.Second, func() error {
		if m := regexp.MustCompile(`喊话开始：([0-9a-f-]+)`).FindStringSubmatch(out.String()); m != nil {
			id = m[1]
			return nil
		}
		return fmt.Errorf("ebctl has not started the shout:\n%s", out)
	})
	eventually(t, 10*time.Second, func() error { // both horns speaking
		sum, err := c.Book.Get(context.Background(), id)
		if err != nil || sum.Counts[receipts.Playing] != 2 {
			return fmt.Errorf("not both playing: %v %v", sum.Counts, err)
		}
		return nil
	})
	time.Sleep(time.Second)
	cmd.Process.Kill() // the sender's link drops mid-sentence
	cmd.Wait()
	killed := time.Now()
	checkReceipts(t, c, id, receipts.Failed, receipts.StreamLost)
	if d := time.Since(killed); d > 10*time.Second {
		t.Errorf("receipts final %v after the sender died", d)
	}
	// The horns are free again: a broadcast after the lost shout plays to the end.
	code, body := post(t, c, map[string]string{"title": "恢复", "targets": "group:" + group201001}, toneWAV(t, 600, time.Second))
	if code != 201 {
		t.Fatalf("broadcast after the lost shout: %d %v", code, body)
	}
	after := awaitFinishedReport(t, c.HTTPAddr, body["id"].(string))
	if after.Counts[receipts.Done] != 2 {
		t.Errorf("broadcast after the lost shout: %v, want both done", after.Counts)
	}
}

func TestShoutFromCaptureDevice(t *testing.T) {
	c, agents, admin := shoutSetup(t)
	said := speechtest.Speak(t, shoutText)
	// ALSA's file plugin feeds arecord from a file: the speech, then silence. (The plugin is
	// not paced; ebctl sends in real time whatever the source's pace.)
	home := t.TempDir()
	infile := filepath.Join(home, "capture.raw")
	if err := os.WriteFile(infile, append(append([]byte(nil), said...), make([]byte, 2*wire.BytesPerSecond)...), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := fmt.Sprintf("pcm.!default {\n\ttype file\n\tslave.pcm \"null\"\n\tfile \"/dev/null\"\n\tinfile \"%s\"\n\tformat \"raw\"\n}\n", infile)
	if err := os.WriteFile(filepath.Join(home, ".asoundrc"), []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := admin.command("shout", "--to", "group:"+group201001, "--device", "--lead-in", "2s")
	cmd.Env = alsatest.Env(home, "XDG_CONFIG_HOME="+admin.config, "DALABA_SERVER=http://"+c.HTTPAddr)
	out := new(syncBuffer)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	// Speak for the lead-in, the length of the speech and a little, then stop as staff do:
	// Ctrl-C.
	time.Sleep(2*time.Second + time.Duration(len(said))*time.Second/wire.BytesPerSecond + 2*time.Second)
	cmd.Process.Signal(syscall.SIGINT)
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ebctl shout --device: %v\n%s", err, out)
		}
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		t.Fatalf("ebctl shout --device still running a minute after Ctrl-C:\n%s", out)
	}
	for _, w := range []string{"喊话开始", "喊话结束", "完成 2，失败 0"} {
		if !strings.Contains(out.String(), w) {
			t.Fatalf("ebctl output does not say %q:\n%s", w, out)
		}
	}
	id := shoutID(t, out.String())
	checkReceipts(t, c, id, receipts.Done, "")
	heardSpeech(t, c, id, said, agents...)
}

func TestShoutRefusesWrongKey(t *testing.T) {
	c, _ := startReview(t, nil)
	token := staffLogin(t, c, "admin", adminPassword)
	var opened struct {
		ID        string `json:"id"`
		StreamKey string `json:"stream_key"`
		GRPC      string `json:"grpc"`
	}
	staffMust(t, 201, c, token, "POST", "/api/v1/shouts", map[string]string{"title": "喊话", "targets": "group:" + group201001}, &opened)
	if opened.ID == "" || len(opened.StreamKey) < 32 || opened.GRPC != c.GRPCAddr {
		t.Fatalf("shout opened as %+v", opened)
	}
	conn, err := grpc.NewClient(c.GRPCAddr, grpcCreds(t, c))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	try := func(id, key string) error {
		s, err := dalabapb.NewLiveServiceClient(conn).Shout(context.Background())
		if err != nil {
			return err
		}
		s.Send(&dalabapb.ShoutFrame{Open: &dalabapb.ShoutOpen{LiveId: id, StreamKey: key}})
		_, err = s.CloseAndRecv()
		return err
	}
	wrong := opened.StreamKey[:len(opened.StreamKey)-1] + "x"
	if err := try(opened.ID, wrong); status.Code(err) != codes.PermissionDenied || !strings.Contains(err.Error(), "喊话密钥不对") {
		t.Errorf("wrong key: %v, want PermissionDenied saying 喊话密钥不对", err)
	}
	if err := try("01234567-89ab-7def-8123-456789abcdef", opened.StreamKey); status.Code(err) != codes.NotFound || !strings.Contains(err.Error(), "没有这个喊话") {
		t.Errorf("unknown shout: %v, want NotFound saying 没有这个喊话", err)
	}
	// The right key is still accepted: the refusals did not spoil the shout.
	if err := try(opened.ID, opened.StreamKey); err != nil {
		t.Errorf("right key: %v", err)
	}
}

// command is ebctl as this member of staff, to start and stop at will.
func (s *staffCLI) command(args ...string) *exec.Cmd {
	cmd := exec.Command(filepath.Join(binDir, "ebctl"), args...)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "DALABA_TOKEN=") && !strings.HasPrefix(kv, "XDG_CONFIG_HOME=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "DALABA_SERVER=http://"+s.c.HTTPAddr, "XDG_CONFIG_HOME="+s.config)
	return cmd
}
