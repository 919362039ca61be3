package opusframe_test

import (
	"testing"

	"dalaba/proto/opusframe"
	"dalaba/proto/opusframe/speechtest"
)

// roundTrip encodes and decodes pcm frame by frame; lost says which frames to drop (concealed).
func roundTrip(t *testing.T, pcm []byte, lost func(i int) bool) (out []byte, packetBytes int) {
	t.Helper()
	enc, err := opusframe.NewEncoder(0)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := opusframe.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; (i+1)*opusframe.PCMBytes <= len(pcm); i++ {
		pkt, err := enc.Encode(pcm[i*opusframe.PCMBytes : (i+1)*opusframe.PCMBytes])
		if err != nil {
			t.Fatal(err)
		}
		packetBytes += len(pkt)
		var frame []byte
		if lost(i) {
			frame, err = dec.Conceal()
		} else {
			frame, err = dec.Decode(pkt)
		}
		if err != nil {
			t.Fatal(err)
		}
		if len(frame) != opusframe.PCMBytes {
			t.Fatalf("frame %d: decoded %d bytes, want %d", i, len(frame), opusframe.PCMBytes)
		}
		out = append(out, frame...)
	}
	return out, packetBytes
}

func TestRoundTripKeepsSpeech(t *testing.T) {
	said := speechtest.Speak(t, speechtest.Text)
	got, packetBytes := roundTrip(t, said, func(int) bool { return false })
	m := speechtest.Find(speechtest.Samples(said), speechtest.Samples(got))
	t.Logf("correlation %.3f at lag %d samples, covering %.0f%%", m.Correlation, m.Lag, 100*m.Covered)
	if m.Correlation < 0.9 {
		t.Errorf("decoded speech correlates %.3f with what was said, want > 0.9", m.Correlation)
	}
	if m.Lag < 0 || m.Lag > opusframe.Samples {
		t.Errorf("decoded speech lags by %d samples, want the codec's few milliseconds", m.Lag)
	}
	frames := len(said) / opusframe.PCMBytes
	kbps := float64(packetBytes*8) / (float64(frames) * opusframe.Duration.Seconds()) / 1000
	t.Logf("%d frames, %.1f kbit/s of Opus payload", frames, kbps)
	if kbps > 26 || kbps < 10 {
		t.Errorf("Opus payload %.1f kbit/s, want about %d", kbps, opusframe.Bitrate/1000)
	}
}

func TestConcealmentFillsLostFrames(t *testing.T) {
	said := speechtest.Speak(t, speechtest.Text)
	clean, _ := roundTrip(t, said, func(int) bool { return false })
	lossy, _ := roundTrip(t, said, func(i int) bool { return i%10 == 5 }) // 10% loss, isolated
	if len(lossy) != len(clean) {
		t.Fatalf("lossy stream has %d bytes, clean %d: concealment must keep the timeline", len(lossy), len(clean))
	}
	m := speechtest.Find(speechtest.Samples(said), speechtest.Samples(lossy))
	t.Logf("with 10%% of frames concealed: correlation %.3f", m.Correlation)
	if m.Correlation < 0.6 {
		t.Errorf("speech with concealed frames correlates %.3f, want > 0.6", m.Correlation)
	}
}

func TestRejectsBadInput(t *testing.T) {
	enc, err := opusframe.NewEncoder(0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := enc.Encode(make([]byte, opusframe.PCMBytes-2)); err == nil {
		t.Error("Encode accepted a short frame")
	}
	if _, err := opusframe.NewEncoder(1000); err == nil {
		t.Error("NewEncoder accepted 1 kbit/s")
	}
	dec, err := opusframe.NewDecoder()
	if err != nil {
		t.Fatal(err)
	}
	for _, pkt := range [][]byte{nil, make([]byte, opusframe.MaxPacket+1)} {
		if _, err := dec.Decode(pkt); err == nil {
			t.Errorf("Decode accepted a packet of %d bytes", len(pkt))
		}
	}
	// A 40 ms packet from a foreign encoder is not a live frame.
	long := make([]byte, 2*opusframe.PCMBytes)
	enc40, err := opusFrame40(long)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dec.Decode(enc40); err == nil {
		t.Error("Decode accepted a 40 ms packet")
	}
}
