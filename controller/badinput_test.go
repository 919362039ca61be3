package controller_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"dalaba/controller"
	"dalaba/terminal-agent/sink/alsatest"
)

func TestBroadcastBadInputIsRefusedAndNothingRecorded(t *testing.T) {
	c := startController(t, "")
	tone := toneWAV(t, 440, 500*time.Millisecond)
	cases := []struct {
		name   string
		fields map[string]string
		wav    []byte
		field  string
		says   []string // in the Chinese message or the detail
	}{
		{"unknown village", map[string]string{"title": "t", "targets": "village:361126104299"}, tone, "targets", []string{"目标地址不存在", "village:361126104299"}},
		{"unknown terminal among good ones", map[string]string{"title": "t", "targets": "village:" + village201 + ",terminal:t999"}, tone, "targets", []string{"terminal:t999"}},
		{"malformed address", map[string]string{"title": "t", "targets": "villa:1"}, tone, "targets", []string{"目标地址格式错误", "unknown tier"}},
		{"no targets", map[string]string{"title": "t", "targets": ""}, tone, "targets", []string{"no target"}},
		{"no title", map[string]string{"targets": "village:" + village201}, tone, "title", []string{"请填写广播标题"}},
		{"no audio", map[string]string{"title": "t", "targets": "village:" + village201}, nil, "audio", []string{"请上传音频文件"}},
		{"not a WAV", map[string]string{"title": "t", "targets": "village:" + village201}, []byte("ID3 this is an mp3, honestly"), "audio", []string{"音频文件无法使用"}},
		{"truncated WAV", map[string]string{"title": "t", "targets": "village:" + village201}, tone[:len(tone)/2], "audio", []string{"音频文件无法使用", "truncated"}},
		{"bad validity", map[string]string{"title": "t", "targets": "village:" + village201, "valid_for": "forever"}, tone, "valid_for", []string{"有效期"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			code, body := post(t, c, tc.fields, tc.wav)
			if code != 400 {
				t.Fatalf("status %d, want 400: %v", code, body)
			}
			if body["field"] != tc.field {
				t.Errorf("field %v, want %s: %v", body["field"], tc.field, body)
			}
			text := body["error"].(string) + " " + body["detail"].(string)
			for _, s := range tc.says {
				if !strings.Contains(text, s) {
					t.Errorf("error %q does not say %q", text, s)
				}
			}
		})
	}
	_, list := get(t, c, "/api/v1/broadcasts")
	if n := len(list.([]any)); n != 0 {
		t.Fatalf("%d broadcasts recorded after only bad requests: %v", n, list)
	}
	if code, _ := get(t, c, "/api/v1/broadcasts/nope"); code != 404 {
		t.Fatalf("unknown broadcast: status %d, want 404", code)
	}
}

func TestMalformedSiteImportChangesNothing(t *testing.T) {
	data := t.TempDir()
	start := func(site string) (*controller.Controller, context.CancelFunc, error) {
		ctx, cancel := context.WithCancel(context.Background())
		c, err := controller.Start(ctx, controller.Options{HTTPAddr: "127.0.0.1:0", MQTTAddr: "127.0.0.1:0",
			GRPCAddr: "127.0.0.1:0", DataDir: data, SiteCSV: site})
		if err != nil {
			cancel()
		}
		return c, cancel, err
	}
	c, cancel, err := start(siteCSV)
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	c.Wait()

	good, err := os.ReadFile(siteCSV)
	if err != nil {
		t.Fatal(err)
	}
	// The first 100 rows of a new inventory are fine; row 101 repeats t001.
	lines := strings.SplitAfter(string(good), "\n")
	bad := strings.Join(lines[:101], "") + strings.Replace(lines[1], "070136112610420101", "070136112610429999", 1)
	badPath := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(badPath, []byte(bad), 0o644)
	if _, _, err := start(badPath); err == nil || !strings.Contains(err.Error(), "line 102") || !strings.Contains(err.Error(), "duplicate terminal_id t001") {
		t.Fatalf("bad import: err %v, want it to name line 102 and the duplicate t001", err)
	}

	c, cancel, err = start("")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); c.Wait() }()
	if n := c.Inventory().Len(); n != 125 {
		t.Fatalf("after a refused import the inventory has %d terminals, want the previous 125", n)
	}
}

func TestAgentWithoutSoundCardRefusesToStart(t *testing.T) {
	cmd := exec.Command(filepath.Join(binDir, "terminal-agent"), "--id", "t001", "--group", "361126104201001",
		"--mqtt", "127.0.0.1:1", "--grpc", "127.0.0.1:1")
	cmd.Env = alsatest.Env(alsatest.BrokenHome(t))
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 2 {
		t.Fatalf("agent without a sound card: err %v, want exit status 2; output:\n%s", err, out)
	}
	if !strings.Contains(string(out), "audio") {
		t.Fatalf("agent without a sound card says %q; want it to name the audio output", out)
	}
}
