package controller_test

// Preemption end to end: a routine broadcast playing on real agents is cut by an emergency to
// the same village, which plays at once; the routine then resumes priority.ResumeRewind before
// the cut and ends done; a second routine of equal priority waits for the first.

import (
	"fmt"
	"math"
	"testing"
	"time"

	"dalaba/controller/receipts"
	"dalaba/proto/priority"
	"dalaba/terminal-agent/sink/alsatest"
)

// toneRun is a stretch of the ALSA output where one tone sounds, in blocks of runBlock.
type toneRun struct {
	hz           float64
	start, count int
}

const runBlock = 50 * time.Millisecond

func (r toneRun) seconds() float64 { return float64(r.count) * runBlock.Seconds() }
func (r toneRun) end() int         { return r.start + r.count }

// toneRuns names each loud block of samples (16 kHz) by the candidate with the most energy,
// and merges neighbouring blocks of one tone into runs. Runs shorter than three blocks (the
// blocks where one tone gives way to another) are dropped.
func toneRuns(samples []float32, candidates ...float64) []toneRun {
	n := int(16000 * runBlock.Seconds())
	var runs []toneRun
	for b := 0; (b+1)*n <= len(samples); b++ {
		x := samples[b*n : (b+1)*n]
		peak := 0.0
		for _, s := range x {
			peak = math.Max(peak, math.Abs(float64(s)))
		}
		if peak < 0.05 {
			continue
		}
		best, bestPower := 0.0, -1.0
		for _, hz := range candidates {
			if p := goertzel(x, hz, 16000); p > bestPower {
				best, bestPower = hz, p
			}
		}
		if l := len(runs) - 1; l >= 0 && runs[l].hz == best && runs[l].end() == b {
			runs[l].count++
			continue
		}
		runs = append(runs, toneRun{hz: best, start: b, count: 1})
	}
	var out []toneRun
	for _, r := range runs {
		if r.count < 3 {
			continue
		}
		if l := len(out) - 1; l >= 0 && out[l].hz == r.hz && r.start-out[l].end() <= 3 {
			out[l].count = r.end() - out[l].start // a dropped transition block inside one tone
			continue
		}
		out = append(out, r)
	}
	return out
}

// goertzel is the power of frequency hz in x.
func goertzel(x []float32, hz float64, rate int) float64 {
	w := 2 * math.Pi * hz / float64(rate)
	c := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s0 := float64(v) + c*s1 - s2
		s2, s1 = s1, s0
	}
	return s1*s1 + s2*s2 - c*s1*s2
}

func TestEmergencyPreemptsRoutineWhichResumes(t *testing.T) {
	c, _ := startReview(t, nil)
	agents := []*agentProc{startAgent(t, c, "", "t001", group201001), startAgent(t, c, "", "t002", group201001)}
	waitOnline(t, c, agents...)
	team := staffTeam(t, c)
	const routineLen, emergencyLen, secondLen = 10 * time.Second, 3 * time.Second, 2 * time.Second

	code, body := post(t, c, map[string]string{"title": "日常广播", "targets": "village:" + village201}, toneWAV(t, 440, routineLen))
	if code != 201 {
		t.Fatalf("routine: %d %v", code, body)
	}
	routine := body["id"].(string)
	for _, a := range agents {
		awaitReceipt(t, c, routine, a.id, func(r receipts.Receipt) bool { return r.State == receipts.Playing })
	}
	code, body = post(t, c, map[string]string{"title": "第二条日常广播", "targets": "village:" + village201}, toneWAV(t, 660, secondLen))
	if code != 201 {
		t.Fatalf("second routine: %d %v", code, body)
	}
	second := body["id"].(string)
	time.Sleep(2500 * time.Millisecond) // well into the routine

	sentAt := time.Now()
	code, body = staffForm(t, c, team["wang"], "/api/v1/emergencies", map[string]string{"title": "山洪预警", "severity": "2",
		"targets": "village:" + village201}, toneWAV(t, 1000, emergencyLen))
	if code != 201 {
		t.Fatalf("emergency: %d %v", code, body)
	}
	emergency := body["id"].(string)
	for _, a := range agents {
		awaitReceipt(t, c, routine, a.id, func(r receipts.Receipt) bool { return r.State == receipts.Preempted })
		if d := time.Since(sentAt); d > 1500*time.Millisecond {
			t.Errorf("%s: routine preempted %v after the emergency was sent, want at once", a.id, d)
		}
	}
	// The equal-priority second routine has waited all along.
	sum, err := c.Book.Get(t.Context(), second)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sum.Receipts {
		if (r.Terminal == "t001" || r.Terminal == "t002") && (r.State == receipts.Playing || r.State.Final()) {
			t.Fatalf("second routine %s on %s while the first has not finished; want it queued", r.State, r.Terminal)
		}
	}

	final := func(id, term string) receipts.Receipt {
		var last receipts.Receipt
		eventually(t, 40*time.Second, func() error {
			s, err := c.Book.Get(t.Context(), id)
			if err != nil {
				return err
			}
			for _, r := range s.Receipts {
				if r.Terminal == term {
					if last = r; r.State.Final() {
						return nil
					}
				}
			}
			return fmt.Errorf("%s on %s: %s", id, term, last.State)
		})
		return last
	}
	bytesOf := func(d time.Duration) int64 { return int64(d.Seconds() * 32000) }
	for _, a := range agents {
		em, r1, r2 := final(emergency, a.id), final(routine, a.id), final(second, a.id)
		switch {
		case em.State != receipts.Done || em.Played == nil || em.Played.Bytes != bytesOf(emergencyLen):
			t.Errorf("%s: emergency %+v (proof %+v), want done in full", a.id, em, em.Played)
		case r1.State != receipts.Done || r1.Played == nil || r1.Played.Bytes != bytesOf(routineLen):
			t.Errorf("%s: routine %+v (proof %+v), want done, its whole program covered", a.id, r1, r1.Played)
		case r2.State != receipts.Done:
			t.Errorf("%s: second routine %+v, want done", a.id, r2)
		case !em.DoneAt.Before(r1.DoneAt) || r2.PlayingAt.Before(r1.DoneAt):
			t.Errorf("%s: emergency done %s, routine done %s, second routine playing %s: want emergency, routine, then the second",
				a.id, em.DoneAt.Format(time.StampMilli), r1.DoneAt.Format(time.StampMilli), r2.PlayingAt.Format(time.StampMilli))
		}
	}

	// What the horns said: routine, the emergency cutting in, the routine again from 2 s
	// before the cut, then the second routine.
	rewind := priority.ResumeRewind.Seconds()
	for id, samples := range heardSamples(t, agents...) {
		runs := toneRuns(samples, 440, 660, 1000)
		if len(runs) != 4 || runs[0].hz != 440 || runs[1].hz != 1000 || runs[2].hz != 440 || runs[3].hz != 660 {
			t.Errorf("%s: tones %+v, want 440 Hz, 1000 Hz, 440 Hz, 660 Hz", id, runs)
			continue
		}
		gap := float64(runs[1].start-runs[0].end()) * runBlock.Seconds()
		replayed := runs[0].seconds() + runs[2].seconds() - routineLen.Seconds()
		switch {
		case gap > 0.6:
			t.Errorf("%s: %.2f s of silence between the cut and the emergency, want it to cut in at once", id, gap)
		case math.Abs(runs[1].seconds()-emergencyLen.Seconds()) > 0.2:
			t.Errorf("%s: emergency sounded %.2f s, want %v", id, runs[1].seconds(), emergencyLen)
		case math.Abs(replayed-rewind) > 0.3:
			t.Errorf("%s: routine sounded %.2f + %.2f s, replaying %.2f s; want %.0f s replayed (ResumeRewind)", id,
				runs[0].seconds(), runs[2].seconds(), replayed, rewind)
		case math.Abs(runs[3].seconds()-secondLen.Seconds()) > 0.2:
			t.Errorf("%s: second routine sounded %.2f s, want %v", id, runs[3].seconds(), secondLen)
		}
		t.Logf("%s: routine %.2f s, cut-in gap %.2f s, emergency %.2f s, routine again %.2f s, second %.2f s",
			id, runs[0].seconds(), gap, runs[1].seconds(), runs[2].seconds(), runs[3].seconds())
	}
}

// heardSamples stops the agents, as heard does, and returns what reached each sound card.
func heardSamples(t *testing.T, agents ...*agentProc) map[string][]float32 {
	t.Helper()
	heard(t, agents...)
	out := map[string][]float32{}
	for _, a := range agents {
		s, err := alsatest.ReadFloat32(a.out)
		if err != nil {
			t.Fatalf("agent %s audio file: %v", a.id, err)
		}
		out[a.id] = s
	}
	return out
}
