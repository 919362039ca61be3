package controller_test

// The cascade intake on a township controller with real agents: only authentic messages from
// configured upper platforms play (tampered, unsigned, wrong-key, expired and replayed ones
// are refused with the standard's result codes and nothing plays); what plays goes through
// the emergency path at the upper-level priority (cutting off this town's own emergency),
// spoken by TTS when it has no audio; drills reach only drill terminals; a cancel from above
// stops it; CAP alerts take the same path.

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"dalaba/controller"
	"dalaba/controller/cascade"
	"dalaba/controller/receipts"
	"dalaba/proto/priority"
)

const (
	countyID   = "010336112600000000"
	townshipID = "010336112610400000"
)

func TestCascadeIntake(t *testing.T) {
	county := validUpper(t, "county", countyID, cascade.AlgSM2)
	expired := newUpper(t, "old-county", "010336112600000001", cascade.AlgSM2, time.Now().Add(-48*time.Hour), time.Now().Add(-time.Hour))
	stranger := validUpper(t, "stranger", countyID, cascade.AlgSM2)
	weather := validUpper(t, "weather", "010336000000000009", cascade.AlgECDSA)
	dataDir, _ := cascadeDir(t, "曹溪镇应急广播平台")
	c := startCascade(t, dataDir, fmt.Sprintf(`platform_id: "%s"
name: 曹溪镇应急广播平台
upper:
  - {name: county, cert: %s}
  - {name: old-county, cert: %s}
  - {name: weather, cert: %s}
drills: drill_terminals
drill_terminals: [t002]
voice: mandarin-female
`, townshipID, county.certFile, expired.certFile, weather.certFile), true, func(o *controller.Options) { o.VoicesDir = "../tts-voices" })
	agents := []*agentProc{startAgent(t, c, "", "t001", group201001), startAgent(t, c, "", "t002", group201001)}
	waitOnline(t, c, agents...)
	ctx := context.Background()
	tone := toneWAV(t, 440, 600*time.Millisecond)
	red := msg{ebmSeq: 1, severity: 1, areas: group201001, title: "山洪红色预警", audio: tone}
	nothingPlays := func(what, id string) {
		t.Helper()
		if _, err := c.Book.Get(ctx, "ebm-"+id); !errors.Is(err, receipts.ErrNotFound) {
			t.Fatalf("%s: broadcast ebm-%s exists (%v): nothing should play", what, id, err)
		}
	}

	// Refused, each with result 4, and nothing plays.
	e, files := county.ebd(red)
	for _, c2 := range []struct {
		name   string
		pkg    func() *cascade.Package
		answer string
	}{
		{"tampered message", func() *cascade.Package {
			p := county.pkg(t, e, files)
			p.Message = []byte(strings.Replace(string(p.Message), "山洪红色预警", "演习结束通知", 1))
			return p
		}, "does not match the message"},
		{"tampered audio", func() *cascade.Package {
			p := county.pkg(t, e, map[string][]byte{"alert.wav": toneWAV(t, 880, 600*time.Millisecond)}) // same size, other sound
			return p
		}, "digest"},
		{"missing signature", func() *cascade.Package { p := county.pkg(t, e, files); p.Signature = nil; return p }, "no signature file"},
		{"wrong key", func() *cascade.Package {
			p := stranger.pkg(t, e, files)
			sn := func(u *upper) string { return strings.ToUpper(u.signer.Cert.SerialNumber.Text(16)) }
			p.Signature = []byte(strings.Replace(string(p.Signature), sn(stranger), sn(county), 1))
			return p
		}, "does not match the message"},
		{"expired certificate", func() *cascade.Package { return expired.pkg(t, e, files) }, "not now"},
	} {
		r, _ := postPackage(t, c.HTTPAddr, "ebd", c2.pkg())
		if r.Response.ResultCode != cascade.ResultSignature || !strings.Contains(r.Response.ResultDesc, "签名验证失败") ||
			!strings.Contains(r.Response.ResultDesc, c2.answer) {
			t.Errorf("%s: answered %d %q, want 4 签名验证失败 (%s)", c2.name, r.Response.ResultCode, r.Response.ResultDesc, c2.answer)
		}
		nothingPlays(c2.name, e.EBM.EBMID)
	}

	// The authentic one plays at the upper-level red level, forced to full volume, and the
	// answer is signed by this controller.
	genuine := county.pkg(t, e, files)
	r, rp := postPackage(t, c.HTTPAddr, "ebd", genuine)
	if r.Response.ResultCode != cascade.ResultOK || r.Header.RelatedEBDID() != e.Header.EBDID || r.Header.SRC != townshipID {
		t.Fatalf("authentic message answered %+v %+v, want 1 relating to %s from %s", r.Header, r.Response, e.Header.EBDID, townshipID)
	}
	ownCert, err := cascade.LoadCert(c.CascadeCertFile)
	if err != nil {
		t.Fatal(err)
	}
	ownTrust, _ := cascade.NewTrust([]cascade.Issuer{{Name: "township", Role: cascade.Upper, Cert: ownCert}})
	if _, err := ownTrust.Verify(rp.Message, rp.Signature, cascade.Upper, time.Now()); err != nil {
		t.Errorf("the answer is not signed by the controller's cascade key: %v", err)
	}
	id := "ebm-" + e.EBM.EBMID
	pcm := len(tone) * 16000 / 44100 / 2 // 44.1 kHz stereo in, 16 kHz mono out: about this many bytes
	for _, a := range agents {
		rc := awaitReceipt(t, c, id, a.id, func(r receipts.Receipt) bool { return r.State.Final() })
		if rc.State != receipts.Done || rc.Played == nil || rc.Played.Peak < 0.1 || absInt(int(rc.Played.Bytes)-pcm) > 2000 {
			t.Fatalf("terminal %s: %+v (proof %+v), want done with the %d-byte tone", a.id, rc, rc.Played, pcm)
		}
	}
	sum, err := c.Book.Get(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	if want, _ := priority.Emergency(true, priority.Red); sum.Priority != int32(want) || sum.ForcedVolume != 100 || sum.Severity != 1 {
		t.Errorf("broadcast %+v: want upper-level red (level %d), volume 100", sum.Broadcast, want)
	}
	admin := staffLogin(t, c, "admin", adminPassword)
	if au := auditOf(t, c, admin, "broadcast:"+id); len(au) != 1 || au[0].Actor != "cascade:county" || au[0].After["message_id"] != e.EBM.EBMID {
		t.Errorf("audit of the upper-level emergency: %+v", au)
	}

	// The same envelope again is a replay; another town's area is not ours.
	if r, _ := postPackage(t, c.HTTPAddr, "ebd", genuine); r.Response.ResultCode != cascade.ResultOther || !strings.Contains(r.Response.ResultDesc, "already received") {
		t.Errorf("replay answered %d %q, want 5 (already received)", r.Response.ResultCode, r.Response.ResultDesc)
	}
	if code, desc, e := county.send(t, c, msg{ebmSeq: 9, severity: 2, areas: "361127101000", title: "别镇的预警", audio: tone}); code != cascade.ResultOther ||
		!strings.Contains(desc, "不属于本平台覆盖区域") {
		t.Errorf("another town's message answered %d %q, want 5 不属于本平台覆盖区域", code, desc)
	} else {
		nothingPlays("not ours", e.EBM.EBMID)
	}

	// Text without audio is spoken.
	text := "请注意：河水上涨。"
	code, desc, e2 := county.send(t, c, msg{ebmSeq: 2, severity: 3, areas: group201001, title: "水位预警", desc: text})
	if code != cascade.ResultOK {
		t.Fatalf("text message answered %d %q", code, desc)
	}
	speech, err := c.TTS.Speak(ctx, text, "mandarin-female")
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range agents {
		rc := awaitReceipt(t, c, "ebm-"+e2.EBM.EBMID, a.id, func(r receipts.Receipt) bool { return r.State.Final() })
		if rc.State != receipts.Done || rc.Played == nil || rc.Played.Bytes != int64(len(speech)) {
			t.Fatalf("spoken message on %s: %+v (proof %+v), want done with %d bytes of speech", a.id, rc, rc.Played, len(speech))
		}
	}

	// A drill reaches only the drill terminal.
	code, desc, e3 := county.send(t, c, msg{ebmSeq: 3, typ: cascade.MsgDrillTerminal, severity: 4, areas: village201, title: "演练", audio: tone})
	if code != cascade.ResultOK || !strings.Contains(desc, "演练") {
		t.Fatalf("drill answered %d %q", code, desc)
	}
	rc := awaitReceipt(t, c, "ebm-"+e3.EBM.EBMID, "t002", func(r receipts.Receipt) bool { return r.State.Final() })
	if sum, _ := c.Book.Get(ctx, "ebm-"+e3.EBM.EBMID); rc.State != receipts.Done || len(sum.Receipts) != 1 {
		t.Errorf("drill: receipts %+v, want only t002, done", sum.Receipts)
	}

	// Upper level outranks local: this town's red emergency, playing, is cut off by the county's
	// blue message, which plays first.
	localID := postEmergency(t, c, map[string]string{"title": "本镇红色预警", "severity": "1", "targets": "group:" + group201001},
		toneWAV(t, 550, 20*time.Second))
	awaitReceipt(t, c, localID, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Playing })
	code, desc, e6 := county.send(t, c, msg{ebmSeq: 6, severity: 4, areas: group201001, title: "上级蓝色预警", audio: tone})
	if code != cascade.ResultOK {
		t.Fatalf("upper-level blue message answered %d %q", code, desc)
	}
	awaitReceipt(t, c, localID, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Preempted })
	if rc := awaitReceipt(t, c, "ebm-"+e6.EBM.EBMID, "t001", func(r receipts.Receipt) bool { return r.State.Final() }); rc.State != receipts.Done {
		t.Errorf("upper-level message over a local emergency: %+v", rc)
	}
	if _, err := c.Dispatcher.Cancel(ctx, localID, "test over"); err != nil {
		t.Fatal(err)
	}

	// A long message, cancelled from above while it plays.
	long := msg{ebmSeq: 4, severity: 2, areas: group201001, title: "长预警", audio: toneWAV(t, 330, 20*time.Second)}
	if code, desc, _ := county.send(t, c, long); code != cascade.ResultOK {
		t.Fatalf("long message answered %d %q", code, desc)
	}
	longID := "ebm-" + county.ebmID(4)
	awaitReceipt(t, c, longID, "t001", func(r receipts.Receipt) bool { return r.State == receipts.Playing })
	if code, desc, _ := weather.send(t, c, msg{ebmSeq: 5, typ: cascade.MsgCancel, cancels: county.ebmID(4)}); code == cascade.ResultOK {
		t.Errorf("a cancel by another platform answered %d %q, want refused", code, desc)
	}
	if code, desc, _ := county.send(t, c, msg{ebmSeq: 5, typ: cascade.MsgCancel, cancels: county.ebmID(4)}); code != cascade.ResultOK {
		t.Fatalf("cancel answered %d %q", code, desc)
	}
	for _, a := range agents {
		rc := awaitReceipt(t, c, longID, a.id, func(r receipts.Receipt) bool { return r.State.Final() })
		if rc.State != receipts.Cancelled || rc.Played == nil || rc.Played.Duration > 15000 {
			t.Errorf("cancelled message on %s: %+v (proof %+v), want cancelled after a few seconds", a.id, rc, rc.Played)
		}
	}

	// Audio that is no WAV is refused (3) and nothing plays; the same message sent again with
	// good audio plays.
	if code, desc, e7 := county.send(t, c, msg{ebmSeq: 7, severity: 3, areas: group201001, title: "坏音频", audio: []byte("not a wav file")}); code != cascade.ResultMissing ||
		!strings.Contains(desc, "not usable audio") {
		t.Errorf("message with broken audio answered %d %q, want 3", code, desc)
	} else {
		nothingPlays("broken audio", e7.EBM.EBMID)
	}
	if code, desc, e7 := county.send(t, c, msg{ebmSeq: 7, severity: 3, areas: group201001, title: "坏音频重发", audio: tone}); code != cascade.ResultOK {
		t.Errorf("the message again with good audio answered %d %q", code, desc)
	} else if rc := awaitReceipt(t, c, "ebm-"+e7.EBM.EBMID, "t001", func(r receipts.Receipt) bool { return r.State.Final() }); rc.State != receipts.Done {
		t.Errorf("the message sent again: %+v", rc)
	}

	// CAP from the weather service, ECDSA-signed, audio inline.
	capAlert := &cascade.CAPAlert{Identifier: "JX-RAIN-" + fmt.Sprint(time.Now().UnixNano()), Sender: "jx-meteo", Sent: time.Now().Format(time.RFC3339),
		Status: "Actual", MsgType: "Alert", Scope: "Public", Info: []cascade.CAPInfo{{Language: "zh-CN", Category: []string{"Met"}, Event: "暴雨",
			Urgency: "Immediate", Severity: "Severe", Certainty: "Observed", Expires: time.Now().Add(time.Hour).Format(time.RFC3339),
			Headline: "暴雨橙色预警", Resource: []cascade.CAPResource{{Desc: "音频", MimeType: "audio/wav", Size: fmt.Sprint(len(tone)),
				URI: "rain.wav", DerefURI: base64.StdEncoding.EncodeToString(tone), Digest: sha1Hex(tone)}},
			Area: []cascade.CAPArea{{Desc: "杨家坪", Geocode: []cascade.CAPGeocode{{ValueName: "GB2260", Value: group201001}}}}}}}
	capXML, err := capAlert.Encode()
	if err != nil {
		t.Fatal(err)
	}
	capSig, err := weather.signer.Sign(capXML, "", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	_, ack := postPackage(t, c.HTTPAddr, "cap", &cascade.Package{Name: "CAP_rain.xml", Message: capXML, Signature: capSig})
	if !strings.Contains(string(ack.Message), "<msgType>Ack</msgType>") {
		t.Fatalf("CAP alert answered\n%s", ack.Message)
	}
	_, nack := postPackage(t, c.HTTPAddr, "cap", &cascade.Package{Name: "CAP_rain.xml", Message: capXML, Signature: capSig})
	if !strings.Contains(string(nack.Message), "<msgType>Error</msgType>") || !strings.Contains(string(nack.Message), "already received") {
		t.Errorf("CAP replay answered\n%s", nack.Message)
	}
	capID := "cap-" + capBroadcastSuffix("jx-meteo,"+capAlert.Identifier)
	for _, a := range agents {
		rc := awaitReceipt(t, c, capID, a.id, func(r receipts.Receipt) bool { return r.State.Final() })
		if rc.State != receipts.Done {
			t.Errorf("CAP alert on %s: %+v", a.id, rc)
		}
	}
}

func absInt(n int) int { return max(n, -n) }
