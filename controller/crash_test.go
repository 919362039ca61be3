package controller_test

// kill -9 of the controller process, again and again, while broadcasts go out: what it answered
// 201 for is never lost, never played twice, and every terminal's report ends up stored.

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"syscall"
	"testing"
	"time"

	"dalaba/controller"
	"dalaba/controller/pki"
	"dalaba/controller/receipts"
	"dalaba/controller/schedule"
	"dalaba/proto/provision"
	"dalaba/terminal-agent/sink/alsatest"
)

// crashRig is the controller command on fixed addresses and one data directory, so that it
// can be killed like a power cut and started again where terminals look for it.
type crashRig struct {
	t                *testing.T
	data, schedules  string
	http, mqtt, grpc string
	proc             *controllerProc
	view             *controller.Controller
}

func newCrashRig(t *testing.T) *crashRig {
	r := &crashRig{t: t, data: filepath.Join(t.TempDir(), "data"), schedules: t.TempDir(),
		http: freeAddr(t), mqtt: freeAddr(t), grpc: freeAddr(t)}
	// The first start provisions every terminal (tokens kept in the store, good across the
	// restarts that follow, which provision nothing).
	bundleDir := t.TempDir()
	r.start("--provision-sim", bundleDir)
	r.view = &controller.Controller{HTTPAddr: r.http, MQTTAddr: r.mqtt, GRPCAddr: r.grpc,
		CommandKeyFile: filepath.Join(r.data, controller.SigningPubKeyFile), CAFile: filepath.Join(r.data, pki.CACertFile)}
	for _, id := range []string{"t001", "t003", "t013"} {
		b, err := provision.Read(filepath.Join(bundleDir, id+".json"))
		if err != nil {
			t.Fatal(err)
		}
		r.view.TerminalBroker = b.Broker
		bundles.Store(bundleKey{r.view, id}, b) // what the harness's startAgent gives the agent
	}
	return r
}

func (r *crashRig) start(extra ...string) {
	r.t.Helper()
	r.proc = startControllerProc(r.t, r.data, r.schedules, append([]string{"--http", r.http, "--mqtt", r.mqtt, "--grpc", r.grpc,
		"--voices", "../tts-voices"}, extra...)...)
}

// kill9 cuts the controller off with no chance to flush or say goodbye.
func (r *crashRig) kill9() {
	r.proc.cmd.Process.Signal(syscall.SIGKILL)
	<-r.proc.exited
}

// controller is the view of the process that the harness's agents need (their bundles are
// already in the harness's cache, from the first start).
func (r *crashRig) controller() *controller.Controller { return r.view }

// tryBroadcast posts a broadcast and says what came back; a controller killed meanwhile is an
// error, not a test failure.
func tryBroadcast(t *testing.T, httpAddr, token string, fields map[string]string, wav []byte) (int, string, error) {
	req, err := broadcastRequest(httpAddr, fields, wav)
	if err != nil {
		return 0, "", err
	}
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return resp.StatusCode, "", err
	}
	var m struct{ ID string }
	json.Unmarshal(b, &m)
	return resp.StatusCode, m.ID, nil
}

// toneWindows counts, per tone, the 0.1 s windows of samples (mono, system rate) in which it
// sounds, each window given to the tone nearest its dominant frequency (within 30 Hz).
func toneWindows(samples []float32, tones []float64) map[float64]int {
	const window = 1600
	out := map[float64]int{}
	for at := 0; at+window <= len(samples); at += window {
		a := alsatest.Analyze(samples[at:at+window], 16000, 0.05)
		if a.Loud < window/2 {
			continue
		}
		for _, f := range tones {
			if math.Abs(a.DominantHz-f) <= 30 {
				out[f]++
			}
		}
	}
	return out
}

var finishedLine = regexp.MustCompile(`msg="broadcast finished" terminal=\S+ broadcast=(\S+) state=(\S+).*? bytes=(\d+)`)

// finishedOnAgent is what the agent's log says it reported as final, per broadcast: the
// states (one, unless it played twice) and the bytes of the last.
func finishedOnAgent(log string) map[string][]string {
	out := map[string][]string{}
	for _, m := range finishedLine.FindAllStringSubmatch(log, -1) {
		out[m[1]] = append(out[m[1]], m[2]+" "+m[3])
	}
	return out
}

// Seeded kill -9 at random moments (mid-upload, between recording and publishing, mid-play,
// while receipts are being batched) over a run of broadcasts to three terminal processes.
func TestKill9LoopDuringBroadcasts(t *testing.T) {
	const iterations = 12
	const toneLength = 500 * time.Millisecond
	rng := rand.New(rand.NewPCG(6, 5))
	r := newCrashRig(t)
	c := r.controller()
	token := adminToken(t, r.http) // sessions are stored: the token outlives the kills
	agents := []*agentProc{
		startAgent(t, c, "", "t001", "361126104201001"),
		startAgent(t, c, "", "t003", "361126104201002"),
		startAgent(t, c, "", "t013", "361126104202001"),
	}
	eventually(t, 20*time.Second, func() error {
		for _, a := range agents {
			if !terminalFromAPI(t, c, a.id).Online {
				return fmt.Errorf("%s not online", a.id)
			}
		}
		return nil
	})

	tones := make([]float64, iterations)
	accepted := map[string]float64{} // broadcast id -> its tone
	kills := make([]time.Duration, iterations)
	for i := range iterations {
		tones[i] = float64(500 + 120*i)
		fields := map[string]string{"title": "断电测试 " + strconv.Itoa(i), "targets": "terminal:t001,terminal:t003,terminal:t013", "valid_for": "3m"}
		type answer struct {
			code int
			id   string
			err  error
		}
		done := make(chan answer, 1)
		wav := toneWAV(t, tones[i], toneLength)
		go func() {
			code, id, err := tryBroadcast(t, r.http, token, fields, wav)
			done <- answer{code, id, err}
		}()
		kills[i] = time.Duration(rng.IntN(1500)) * time.Millisecond
		time.Sleep(kills[i])
		r.kill9()
		a := <-done
		switch {
		case a.err == nil && a.code == http.StatusCreated:
			accepted[a.id] = tones[i]
		case a.err == nil:
			t.Fatalf("iteration %d: POST answered %d", i, a.code)
		}
		t.Logf("iteration %d: killed after %v; POST %d %s %v", i, kills[i], a.code, a.id, a.err)
		r.start()
	}
	if len(accepted) < iterations/3 {
		t.Fatalf("only %d of %d broadcasts were answered 201 before the kill: the loop tests too little", len(accepted), iterations)
	}

	// Every broadcast answered 201 is there and reaches its end, played by every terminal (one
	// sent while they were reconnecting is recorded offline, then redelivered on their return).
	for id, tone := range accepted {
		rep := awaitAnswered(t, r.http, id)
		for _, rc := range rep.Receipts {
			if rc.State != receipts.Done || rc.Played == nil || rc.Played.Duration < 450 {
				t.Errorf("broadcast %s (%v Hz) on %s: %s %s %q, proof %+v; want done with 0.5 s played", id, tone,
					rc.Terminal, rc.State, rc.Reason, rc.Detail, rc.Played)
			}
		}
		if len(rep.Receipts) != 3 {
			t.Errorf("broadcast %s has %d receipts, want 3", id, len(rep.Receipts))
		}
	}

	// What each terminal reported is what the controller stored; nothing was played twice.
	heard(t, agents...)
	for _, a := range agents {
		reported := finishedOnAgent(a.log.String())
		for id := range accepted {
			got := reported[id]
			if len(got) != 1 {
				t.Errorf("%s reported %s finished %d times: %v", a.id, id, len(got), got)
				continue
			}
			var st, bytes string
			fmt.Sscan(got[0], &st, &bytes)
			rc := receiptOf(t, r.http, id, a.id)
			if st != "RECEIPT_STATE_DONE" || rc.Played == nil || strconv.FormatInt(rc.Played.Bytes, 10) != bytes {
				t.Errorf("%s reported %s %s bytes; the controller stored %s with proof %+v", a.id, id, got[0], rc.State, rc.Played)
			}
		}
		samples, err := alsatest.ReadFloat32(a.out)
		if err != nil {
			t.Fatal(err)
		}
		windows := toneWindows(samples, tones)
		for _, tone := range tones {
			// 0.5 s is 5 windows (4 to 6 at the edges); twice would be 9 or more.
			if n := windows[tone]; n > 6 {
				t.Errorf("%s: the %v Hz broadcast sounded for %d windows of 0.1 s: played more than once", a.id, tone, n)
			}
		}
		for id, tone := range accepted {
			if n := windows[tone]; n < 3 {
				t.Errorf("%s: broadcast %s (%v Hz) sounded for %d windows of 0.1 s, want about 5", a.id, id, tone, n)
			}
		}
	}
	t.Logf("%d iterations, %d answered 201; kill moments %v", iterations, len(accepted), kills)
}

// awaitAnswered waits until every terminal of a broadcast has given a final answer (offline is
// not one: it is what the controller says while waiting for the terminal to come back).
func awaitAnswered(t *testing.T, httpAddr, id string) report {
	t.Helper()
	var rep report
	eventually(t, 60*time.Second, func() error {
		resp, err := adminGet(t, "http://"+httpAddr+"/api/v1/broadcasts/"+id)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET broadcast %s: %d", id, resp.StatusCode)
		}
		rep = report{}
		if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
			return err
		}
		for _, rc := range rep.Receipts {
			if !rc.State.Final() || rc.State == receipts.Offline {
				return fmt.Errorf("broadcast %s: %s is %s", id, rc.Terminal, rc.State)
			}
		}
		return nil
	})
	return rep
}

// receiptOf is one terminal's receipt of a broadcast, from the API.
func receiptOf(t *testing.T, httpAddr, id, terminal string) receipts.Receipt {
	t.Helper()
	var rep report
	resp, err := adminGet(t, "http://"+httpAddr+"/api/v1/broadcasts/"+id)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(&rep); err != nil {
		t.Fatal(err)
	}
	for _, rc := range rep.Receipts {
		if rc.Terminal == terminal {
			return rc
		}
	}
	t.Fatalf("broadcast %s has no receipt for %s", id, terminal)
	return receipts.Receipt{}
}

// Seeded kill -9 of the controller while one-off schedule slots come due, one of them while it
// is down: each slot fires once (twice only when the kill fell between claim and result, then
// under the same broadcast id), a slot due while the controller was down fires after the
// restart within its grace, and the terminal plays each once.
func TestKill9LoopDuringDueSchedules(t *testing.T) {
	const slots = 4
	rng := rand.New(rand.NewPCG(6, 6))
	r := newCrashRig(t)
	c := r.controller()
	a := startAgent(t, c, "", "t001", "361126104201001")
	eventually(t, 20*time.Second, func() error {
		if !terminalFromAPI(t, c, "t001").Online {
			return fmt.Errorf("t001 not online")
		}
		return nil
	})
	team := staffTeam(t, c)
	approve(t, c, team, map[string]any{"key": "crash-notice", "title": "停电检修", "category": "服务公开",
		"domain": "惠农补贴", "text": "各位村民请注意，今晚停电检修。", "targets": "terminal:t001"})
	start := time.Now()
	due := make([]time.Time, slots)
	for i := range slots {
		due[i] = start.Add(5*time.Second + time.Duration(i)*2500*time.Millisecond).Truncate(time.Millisecond)
		if code := schedCall(t, r.http, "POST", "/api/v1/schedules", map[string]any{"id": "crash-" + strconv.Itoa(i),
			"name": "断电测试", "announcement": "crash-notice", "at": due[i].Format(time.RFC3339Nano), "grace": "2m"}, nil); code != 201 {
			t.Fatalf("create schedule %d: %d", i, code)
		}
	}
	// Down across the first slot's due time, then killed at random moments until the last is due.
	time.Sleep(time.Until(due[0].Add(-700 * time.Millisecond)))
	r.kill9()
	time.Sleep(time.Until(due[0].Add(time.Second)))
	r.start()
	var kills []time.Duration
	for end := due[slots-1].Add(time.Second); time.Now().Before(end); {
		time.Sleep(time.Duration(300+rng.IntN(2000)) * time.Millisecond)
		kills = append(kills, time.Since(start).Round(time.Millisecond))
		r.kill9()
		r.start()
	}

	var ids []string
	for i := range slots {
		id := "crash-" + strconv.Itoa(i)
		var got []slotView
		eventually(t, 60*time.Second, func() error {
			if schedCall(t, r.http, "GET", "/api/v1/schedules/"+id+"/slots", nil, &got); len(got) != 1 || got[0].State == schedule.StateClaimed {
				return fmt.Errorf("%s slots %+v", id, got)
			}
			return nil
		})
		s := got[0]
		if s.State != schedule.StateFired || s.DueMs != due[i].UnixMilli() || s.BroadcastID != schedule.BroadcastID(id, due[i]) ||
			s.Attempts < 1 || s.Attempts > 2 {
			t.Errorf("slot of %s: %+v; want fired once (twice at most, under the same broadcast id)", id, s)
		}
		ids = append(ids, s.BroadcastID)
		t.Logf("%s due at %v: %s, Fire called %d times, fired at %v", id, due[i].Sub(start).Round(time.Millisecond), s.State,
			s.Attempts, time.UnixMilli(s.FiredMs).Sub(start).Round(time.Millisecond))
		rc := receiptOf(t, r.http, s.BroadcastID, "t001")
		if !rc.State.Final() || rc.State == receipts.Offline {
			rc = awaitAnswered(t, r.http, s.BroadcastID).Receipts[0]
		}
		if rc.State != receipts.Done || rc.Played == nil {
			t.Errorf("%s on t001: %s %s %q, want done", s.BroadcastID, rc.State, rc.Reason, rc.Detail)
		}
	}
	var list []any
	getJSON(t, "http://"+r.http+"/api/v1/broadcasts", &list)
	if len(list) != slots {
		t.Errorf("%d broadcasts recorded, want one per slot (%d)", len(list), slots)
	}
	heard(t, a)
	reported := finishedOnAgent(a.log.String())
	for _, id := range ids {
		if len(reported[id]) != 1 {
			t.Errorf("t001 finished %s %d times: %v", id, len(reported[id]), reported[id])
		}
	}
	t.Logf("%d slots; down from %v to %v over the first; then killed at %v", slots,
		due[0].Add(-700*time.Millisecond).Sub(start).Round(time.Millisecond), due[0].Add(time.Second).Sub(start).Round(time.Millisecond), kills)
}
