package controller_test

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"dalaba/controller/receipts"
)

func TestTerminalKilledMidPlayIsReportedAndEbctlFails(t *testing.T) {
	c := startController(t, "")
	victim := startAgent(t, c, "", "t001", "361126104201001")
	survivor := startAgent(t, c, "", "t003", "361126104201002")
	waitOnline(t, c, victim, survivor)

	wav := writeFile(t, "long.wav", toneWAV(t, 700, 3*time.Second))
	cmd := exec.Command(filepath.Join(binDir, "ebctl"), "broadcast", "--to", "terminal:t001,terminal:t003",
		"--audio", wav, "--wait", "--timeout", "60s")
	cmd.Env = append(os.Environ(), "DALABA_SERVER=http://"+c.HTTPAddr, "DALABA_TOKEN="+adminToken(t, c.HTTPAddr))
	stdout, _ := cmd.StdoutPipe()
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("ebctl printed nothing; stderr %s", stderr.String())
	}
	id := strings.TrimPrefix(lines.Text(), "广播已发送：")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Book.Await(ctx, id, func(_ string, n receipts.Counts) bool { return n[receipts.Playing] == 2 }); err != nil {
		t.Fatalf("both terminals playing: %v", err)
	}
	victim.kill() // power cut: no goodbye, the broker publishes its Last Will

	var rest strings.Builder
	for lines.Scan() {
		rest.WriteString(lines.Text() + "\n")
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("ebctl: %v, want exit status 1 (an online target failed); output:\n%s%s", err, rest.String(), stderr.String())
	}
	for _, want := range []string{"完成 1，失败 1", "t001：播放中终端离线"} {
		if !strings.Contains(rest.String(), want) {
			t.Errorf("ebctl report lacks %q:\n%s", want, rest.String())
		}
	}
	if !strings.Contains(stderr.String(), "1 个在线终端未能播放") {
		t.Errorf("ebctl error %q does not say one online terminal failed", stderr.String())
	}
	sum, err := c.Book.Get(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sum.Receipts {
		if r.Terminal == "t001" && (r.State != receipts.Failed || r.Reason != receipts.Disconnected) {
			t.Errorf("t001 killed mid-play: %s/%s, want failed/disconnected", r.State, r.Reason)
		}
		if r.Terminal == "t003" && r.State != receipts.Done {
			t.Errorf("t003: %s, want done", r.State)
		}
	}
}

func TestDuplicatedCommandPlaysOnce(t *testing.T) {
	c := startOpenController(t) // the spy below is an outside MQTT client
	a := startAgent(t, c, "", "t001", "361126104201001")
	waitOnline(t, c, a)

	// A real MQTT client listens on the terminal's topic to catch the command as sent.
	spy := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + c.MQTTAddr).SetClientID("spy"))
	if tok := spy.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("spy connect: %v", tok.Error())
	}
	defer spy.Disconnect(100)
	caught := make(chan []byte, 1)
	topic := "dalaba/v1/cmd/terminal/t001"
	if tok := spy.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) { caught <- m.Payload() }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("spy subscribe: %v", tok.Error())
	}

	code, body := post(t, c, map[string]string{"title": "重复测试", "targets": "terminal:t001"}, toneWAV(t, 1000, 500*time.Millisecond))
	if code != 201 {
		t.Fatalf("post: %d %v", code, body)
	}
	id := body["id"].(string)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := c.Book.Await(ctx, id, func(st string, _ receipts.Counts) bool { return st == receipts.StateFinished }); err != nil {
		t.Fatal(err)
	}
	payload := <-caught
	// QoS 1 allows the broker to deliver the same command again: do exactly that, twice. The
	// same bytes carry the same sequence number, refused as a replay before reaching the player.
	for range 2 {
		if tok := spy.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("republish: %v", tok.Error())
		}
	}
	// The controller's redelivery signs the same command anew: genuine, so it reaches the
	// player, which plays a broadcast id once.
	fresh := signAs(t, controllerKey(t, c), "", time.Now(), topic, opened(t, payload))
	for range 2 {
		if tok := spy.Publish(topic, 1, false, fresh); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("republish: %v", tok.Error())
		}
		fresh = signAs(t, controllerKey(t, c), "", time.Now(), topic, opened(t, payload))
	}
	eventually(t, 10*time.Second, func() error {
		if n := strings.Count(a.log.String(), "reason=replayed"); n < 2 {
			return fmt.Errorf("agent refused %d replayed copies so far", n)
		}
		if n := strings.Count(a.log.String(), "duplicate command ignored"); n < 2 {
			return fmt.Errorf("agent ignored %d duplicates so far", n)
		}
		return nil
	})
	h := heard(t, a)[a.id]
	if span := h.LastLoud - h.FirstLoud + 1; span < 7800 || span > 8200 {
		t.Fatalf("heard %+v (span %d samples); want one 0.5 s tone (8000 samples), not two or three", h, span)
	}
	sum, _ := c.Book.Get(context.Background(), id)
	if sum.Counts[receipts.Done] != 1 || len(sum.Receipts) != 1 {
		t.Fatalf("receipts after duplicates: %v", sum.Counts)
	}
}

func TestCommandArrivingAfterItsWindowIsNeverPlayed(t *testing.T) {
	c := startController(t, "")
	first := startAgent(t, c, "", "t001", "361126104201001")
	waitOnline(t, c, first)
	first.stop() // says goodbye; its persistent session stays with the broker
	eventually(t, 5*time.Second, func() error {
		if c.Presence.Get("t001").Online {
			return fmt.Errorf("t001 still online")
		}
		return nil
	})

	code, body := post(t, c, map[string]string{"title": "过期测试", "targets": "terminal:t001", "valid_for": "1"},
		toneWAV(t, 1000, 300*time.Millisecond))
	if code != 201 {
		t.Fatalf("post: %d %v", code, body)
	}
	id := body["id"].(string)
	sum, _ := c.Book.Get(context.Background(), id)
	if sum.Counts[receipts.Offline] != 1 {
		t.Fatalf("sent to an offline terminal: %v, want offline 1", sum.Counts)
	}
	eventually(t, 10*time.Second, func() error {
		if time.Now().Before(sum.ValidUntil.Add(200 * time.Millisecond)) {
			return fmt.Errorf("window still open until %v", sum.ValidUntil)
		}
		return nil
	})

	// The terminal comes back; the broker delivers the queued command, now stale.
	back := startAgent(t, c, "", "t001", "361126104201001")
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	sum, err := c.Book.Await(ctx, id, func(_ string, n receipts.Counts) bool { return n[receipts.Failed] == 1 })
	if err != nil {
		t.Fatalf("expired command: %v (%v)", err, sum.Counts)
	}
	if r := sum.Receipts[0]; r.Reason != receipts.Expired || !r.PlayingAt.IsZero() {
		t.Fatalf("receipt %+v, want failed/expired and never playing", r)
	}
	if h := heard(t, back)["t001"]; h.Loud != 0 {
		t.Fatalf("a stale command was played: %+v", h)
	}
}
