// Command cascade-send plays an upper platform by hand: it signs an emergency message (EBD
// with an EBM, SM2 with SM3) with its own key and posts it to a controller's cascade intake,
// printing the result code. See docs/CASCADE.md.
package main

import (
	"bytes"
	"flag"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"dalaba/controller/cascade"
)

func main() {
	keys := flag.String("keys", "./upper-keys", "directory of this platform's key and certificate (cascade.key, cascade.crt; made on first use)")
	name := flag.String("name", "上级应急广播平台", "platform name (sender name, and the certificate's subject when it is made)")
	printCert := flag.Bool("print-cert", false, "print the certificate the receiving controller must trust (upper: in its cascade file) and exit")
	platform := flag.String("platform", "010336112600000000", "this platform's 18-digit resource ID")
	to := flag.String("to", "http://127.0.0.1:8080/api/v1/cascade/ebd", "the receiving controller's intake")
	seq := flag.Int("seq", 1, "message sequence of the day (the EBMID's last 4 digits)")
	severity := flag.Int("severity", 1, "1 red, 2 orange, 3 yellow, 4 blue")
	areas := flag.String("area", "", "comma-separated 12-digit region codes (or 15-digit group codes)")
	title := flag.String("title", "", "message title")
	text := flag.String("text", "", "message description (spoken when there is no audio)")
	audio := flag.String("audio", "", "WAV file to attach")
	lasts := flag.Duration("lasts", 30*time.Minute, "from now to the message's end time")
	drill := flag.Bool("drill", false, "send as a terminal-level drill (MsgType 5)")
	cancel := flag.String("cancel", "", "send a cancel of this EBMID instead")
	flag.Parse()

	signer, _, err := cascade.LoadSigner(*keys, *name)
	if err != nil {
		fail(err)
	}
	if *printCert {
		b, err := os.ReadFile(filepath.Join(*keys, cascade.CertFile))
		if err != nil {
			fail(err)
		}
		os.Stdout.Write(b)
		return
	}
	now := time.Now()
	m := cascade.Message{Platform: *platform, SenderName: *name, Seq: *seq, Severity: *severity, Title: *title, Desc: *text,
		Start: now.Add(-time.Second), End: now.Add(*lasts), Cancels: *cancel}
	if *areas != "" {
		m.Areas = strings.Split(*areas, ",")
	}
	switch {
	case *cancel != "":
		m.Type = cascade.MsgCancel
	case *drill:
		m.Type = cascade.MsgDrillTerminal
	}
	if *audio != "" {
		if m.Audio, err = os.ReadFile(*audio); err != nil {
			fail(err)
		}
		m.AudioName = filepath.Base(*audio)
	}
	e, files := m.Envelope(cascade.NewEBDID(*platform, now.UnixMicro()), now)
	p, err := signer.Pack(e, files, now)
	if err != nil {
		fail(err)
	}
	body, err := p.Bytes()
	if err != nil {
		fail(err)
	}
	resp, err := http.Post(*to, "application/x-tar", bytes.NewReader(body))
	if err != nil {
		fail(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		fail(fmt.Errorf("%s answered HTTP %d", *to, resp.StatusCode))
	}
	rp, err := cascade.ReadPackage(resp.Body)
	if err != nil {
		fail(err)
	}
	answer, err := cascade.ParseEBD(rp.Message)
	if err != nil || answer.Response == nil {
		fail(fmt.Errorf("answer is not an EBDResponse: %v", err))
	}
	fmt.Printf("EBDID %s EBMID %s: %d %s\n", e.Header.EBDID, e.EBM.EBMID, answer.Response.ResultCode, answer.Response.ResultDesc)
	if answer.Response.ResultCode != cascade.ResultOK {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "cascade-send:", err)
	os.Exit(2)
}
