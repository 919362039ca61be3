package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"

	"dalaba/controller/audio"
	"dalaba/controller/live"
	"dalaba/proto/provision"
	"dalaba/proto/wire"
)

// shout: ebctl shout --to ADDR[,ADDR...] (--wav F | --stdin | --device [--alsa-device D])
// [--title T] [--grpc ADDR] [--lead-in 500ms] [--timeout 1m]. Logged-in staff only; the targets
// must be inside the account's scope. The voice streams until the source ends or Ctrl-C, then
// the receipts are printed.
func shoutCmd(args []string) error {
	fs := flag.NewFlagSet("shout", flag.ExitOnError)
	server := fs.String("server", defaultServer(), "controller API base URL")
	to := fs.String("to", "", "target addresses, comma-separated (required)")
	title := fs.String("title", "", "title (default: «<name>的喊话»)")
	wavPath := fs.String("wav", "", "speak a WAV file, in real time as if spoken")
	stdin := fs.Bool("stdin", false, "speak raw audio from stdin: signed 16-bit little-endian, 16 kHz, mono")
	device := fs.Bool("device", false, "speak into the ALSA capture device (arecord)")
	alsaDevice := fs.String("alsa-device", "default", "ALSA capture device for --device")
	grpcAddr := fs.String("grpc", "", "controller's gRPC address (default: the one the controller gives)")
	leadIn := fs.Duration("lead-in", 500*time.Millisecond, "pause after opening, so every horn is listening before the first word")
	timeout := fs.Duration("timeout", time.Minute, "how long to wait for the receipts after speaking")
	fs.Parse(args)
	sources := 0
	for _, on := range []bool{*wavPath != "", *stdin, *device} {
		if on {
			sources++
		}
	}
	if *to == "" || sources != 1 {
		return errors.New("usage: ebctl shout --to ADDR[,ADDR...] (--wav FILE | --stdin | --device) [--title T]")
	}
	if _, err := wire.ParseAddresses(*to); err != nil {
		return fmt.Errorf("--to %q: %w", *to, err)
	}

	// The audio first: a file that cannot be read should not open a shout.
	speech := live.Speech{Paced: true}
	switch {
	case *wavPath != "":
		f, err := os.Open(*wavPath)
		if err != nil {
			return err
		}
		pcm, _, err := audio.Convert(f, 64<<20)
		f.Close()
		if err != nil {
			return fmt.Errorf("%s: %w", *wavPath, err)
		}
		speech.Source = bytes.NewReader(pcm)
	case *stdin:
		speech.Source = os.Stdin
	}

	var opened struct {
		ID        string `json:"id"`
		StreamKey string `json:"stream_key"`
		GRPC      string `json:"grpc"`
		GRPCCA    string `json:"grpc_ca"` // the controller's CA, over the logged-in API; empty: plain gRPC
	}
	if err := staffRequest(*server, "POST", "/api/v1/shouts", map[string]string{"title": *title, "targets": *to}, &opened); err != nil {
		return err
	}
	addr := *grpcAddr
	if addr == "" {
		addr = opened.GRPC
	}
	if addr == "" {
		return errors.New("the controller did not say where to stream (no grpc address): give --grpc HOST:PORT")
	}
	creds := insecure.NewCredentials()
	if opened.GRPCCA != "" {
		cfg, err := provision.ClientTLS([]byte(opened.GRPCCA))
		if err != nil {
			return fmt.Errorf("the controller's CA: %w", err)
		}
		creds = credentials.NewTLS(cfg)
	}
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return err
	}
	defer conn.Close()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	time.Sleep(*leadIn)
	if *device {
		rec, err := startCapture(*alsaDevice)
		if err != nil {
			return err
		}
		defer rec.stop()
		// Still paced: a real device delivers in real time anyway (pacing then costs nothing),
		// and one that does not (ALSA's file plugin in tests) is spoken as if it did.
		speech.Source = rec.out
	}
	fmt.Printf("喊话开始：%s（Ctrl-C 结束）\n", opened.ID)
	res, err := live.Speak(ctx, conn, live.Opened{ID: opened.ID, StreamKey: opened.StreamKey}, speech)
	if err != nil {
		return fmt.Errorf("喊话中断：%w", err)
	}
	fmt.Printf("喊话结束：%d 帧，%.1f 秒\n", res.Frames, float64(res.DurationMs)/1000)
	rep, err := awaitEnded(*server, opened.ID, *timeout)
	if err != nil {
		return err
	}
	printReport(rep)
	if n := rep.Counts["failed"]; n > 0 {
		return fmt.Errorf("%d 个在线终端未能播放", n)
	}
	return nil
}

// capture is arecord reading the ALSA capture device as system-format PCM.
type capture struct {
	cmd *exec.Cmd
	out io.ReadCloser
}

// startCapture runs arecord with a short buffer (40 ms), so a word is on its way within a
// frame or two of being spoken.
func startCapture(device string) (*capture, error) {
	path, err := exec.LookPath("arecord")
	if err != nil {
		return nil, fmt.Errorf("--device needs arecord (Debian package alsa-utils): %w", err)
	}
	cmd := exec.Command(path, "-q", "-D", device, "-t", "raw", "-f", "S16_LE", "-c", strconv.Itoa(wire.Channels),
		"-r", strconv.Itoa(wire.SampleRate), "--buffer-time=40000", "--period-time=10000")
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("arecord: %w", err)
	}
	return &capture{cmd: cmd, out: out}, nil
}

// stop ends arecord: its next write fails once nobody reads, and it is told to stop.
func (c *capture) stop() {
	c.out.Close()
	c.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(2 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}
