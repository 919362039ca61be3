package sink

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"dalaba/proto/wire"
)

func TestNullPacesInRealTime(t *testing.T) {
	s := NewNull()
	defer s.Close()
	pcm := tone(440, 0.25, 500*time.Millisecond)
	t0 := time.Now()
	p, err := s.Play(context.Background(), pcm)
	took := time.Since(t0)
	if err != nil {
		t.Fatalf("Play: %v", err)
	}
	if took < 450*time.Millisecond || took > 2*time.Second {
		t.Errorf("a 0.5 s program took %v to play, want about 0.5 s", took)
	}
	if p.Bytes != int64(len(pcm)) {
		t.Errorf("Played.Bytes = %d, want %d", p.Bytes, len(pcm))
	}
	if d := p.End.Sub(p.Start); d < 450*time.Millisecond {
		t.Errorf("Played spans %v, want about 0.5 s", d)
	}
	if p.Duration() != 500*time.Millisecond {
		t.Errorf("Played.Duration() = %v, want 500ms", p.Duration())
	}
}

func TestNullMeasuresLevels(t *testing.T) {
	s := NewNull()
	defer s.Close()
	pcm := tone(1000, 0.5, 100*time.Millisecond)
	p, err := s.Play(context.Background(), pcm)
	if err != nil {
		t.Fatalf("Play: %v", err)
	}
	if p.Bytes != int64(len(pcm)) {
		t.Errorf("Played.Bytes = %d, want %d", p.Bytes, len(pcm))
	}
	if !near(p.Peak, 0.5, 0.005) {
		t.Errorf("Peak = %.4f, want 0.5", p.Peak)
	}
	if !near(p.RMS, 0.5/math.Sqrt2, 0.005) {
		t.Errorf("RMS = %.4f, want %.4f", p.RMS, 0.5/math.Sqrt2)
	}

	// Silence, and a trailing odd byte that is not a whole sample.
	p, err = s.Play(context.Background(), make([]byte, 321))
	if err != nil {
		t.Fatalf("Play: %v", err)
	}
	if p.Bytes != 320 || p.Peak != 0 || p.RMS != 0 {
		t.Errorf("silence: Played = %+v, want 320 bytes at level 0", p)
	}

	// Full scale negative is a peak of 1.
	p, err = s.Play(context.Background(), []byte{0x00, 0x80, 0, 0})
	if err != nil || p.Peak != 1 {
		t.Errorf("full scale: Played = %+v, %v; want peak 1", p, err)
	}
}

func TestNullCancel(t *testing.T) {
	s := NewNull()
	defer s.Close()
	pcm := tone(440, 0.5, 5*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	t0 := time.Now()
	p, err := s.Play(ctx, pcm)
	took := time.Since(t0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Play error = %v, want context.DeadlineExceeded", err)
	}
	if took > time.Second { // generous: CI machines are busy
		t.Errorf("Play returned %v after start, want promptly after the 200 ms deadline", took)
	}
	// What it reports is what had played by the time it stopped.
	want := int64(took.Seconds() * wire.BytesPerSecond)
	if p.Bytes < int64(wire.BytesPerSecond/5)*9/10 || p.Bytes > want || p.Bytes%2 != 0 {
		t.Errorf("Played.Bytes = %d after %v, want about %d (whole samples)", p.Bytes, took, want)
	}
	if d := p.End.Sub(p.Start); d < 190*time.Millisecond || d > took {
		t.Errorf("Played spans %v, want about 0.2 s", d)
	}
	if !near(p.Peak, 0.5, 0.01) {
		t.Errorf("Peak = %.4f, want 0.5", p.Peak)
	}

	// An already cancelled context does not play at all.
	p, err = s.Play(ctx, pcm)
	if !errors.Is(err, context.DeadlineExceeded) || p.Bytes != 0 {
		t.Errorf("Play with a done context = %+v, %v; want nothing played and the context's error", p, err)
	}
}

func TestNullTakesTurnsAndCloses(t *testing.T) {
	s := NewNull()
	pcm := tone(440, 0.5, 200*time.Millisecond)
	t0 := time.Now()
	var wg sync.WaitGroup
	for range 2 {
		wg.Go(func() {
			if _, err := s.Play(context.Background(), pcm); err != nil {
				t.Errorf("Play: %v", err)
			}
		})
	}
	wg.Wait()
	if took := time.Since(t0); took < 380*time.Millisecond {
		t.Errorf("two concurrent 0.2 s programs finished in %v; they should take turns (0.4 s)", took)
	}

	done := make(chan error, 1)
	go func() {
		_, err := s.Play(context.Background(), tone(440, 0.5, 10*time.Second))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	select {
	case err := <-done:
		if !errors.Is(err, ErrClosed) {
			t.Errorf("Play interrupted by Close returned %v, want ErrClosed", err)
		}
	case <-time.After(time.Second):
		t.Fatal("Close did not stop the Play in progress")
	}
	if _, err := s.Play(context.Background(), pcm); !errors.Is(err, ErrClosed) {
		t.Errorf("Play after Close returned %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

// Hundreds of null sinks in one process (the fleet simulator) stay on time.
func TestNullManyAtOnce(t *testing.T) {
	const n = 300
	pcm := tone(440, 0.5, 300*time.Millisecond)
	t0 := time.Now()
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			s := NewNull()
			defer s.Close()
			if _, err := s.Play(context.Background(), pcm); err != nil {
				t.Errorf("Play: %v", err)
			}
		})
	}
	wg.Wait()
	if took := time.Since(t0); took < 290*time.Millisecond || took > 3*time.Second {
		t.Errorf("%d concurrent 0.3 s programs took %v", n, took)
	}
}
