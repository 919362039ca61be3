package cascade

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"

	"dalaba/proto/priority"
)

var update = flag.Bool("update", false, "rewrite the golden files from what the encoders produce")

// golden compares produced bytes with testdata/name (or rewrites it with -update).
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s: produced\n%s\nwant\n%s", name, got, want)
	}
}

// floodEBD is the message in testdata/ebm-broadcast.xml: the county's red flood warning for
// the whole county and one village of another county, with a WAV attached.
func floodEBD() *EBD {
	return &EBD{Version: "1.0",
		Header: Header{EBDID: "01" + "010336112600000000" + "0000000000000001", EBDType: TypeEBM, SRC: "010336112600000000",
			DEST: "010336112610400000", EBDTime: "2026-07-01 08:00:00"},
		EBM: &EBM{Version: "1", EBMID: "010336112600000000" + "20260701" + "0001",
			Basic: BasicInfo{MsgType: "1", SenderName: "弋阳县应急广播平台", SenderCode: "010336112600000000", SendTime: "2026-07-01 08:00:00",
				EventType: "11B01", Severity: "1", StartTime: "2026-07-01 08:00:00", EndTime: "2026-07-01 12:00:00"},
			Content: &MsgContent{LanguageCode: "zho", MsgTitle: "山洪红色预警", MsgDesc: "曹溪河流域将发生山洪，沿河群众请立即转移。",
				AreaCode:  "361126000000,361127101203",
				Auxiliary: []Auxiliary{{Type: AuxAudio, Name: "flood.wav", Size: "44", Digest: "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"}}}}}
}

func TestEBMGoldenBothWays(t *testing.T) {
	b, err := floodEBD().Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "ebm-broadcast.xml", b)

	e, err := ParseEBD(b)
	if err != nil {
		t.Fatal(err)
	}
	a, err := e.Alert()
	if err != nil {
		t.Fatal(err)
	}
	want := &Alert{Format: "ebd", ID: "01033611260000000020260701" + "0001", EnvelopeID: "010103361126000000000000000000000001",
		SenderName: "弋阳县应急广播平台", SenderCode: "010336112600000000", Type: MsgBroadcast, Severity: priority.Red, EventType: "11B01",
		Start: time.Date(2026, 7, 1, 8, 0, 0, 0, cst), End: time.Date(2026, 7, 1, 12, 0, 0, 0, cst), Language: "zho",
		Title: "山洪红色预警", Description: "曹溪河流域将发生山洪，沿河群众请立即转移。", Areas: []string{"361126000000", "361127101203"},
		Audio: []Attachment{{Name: "flood.wav", Size: 44, Digest: "1ab21d8355cfa17f8e61194831e81a8f22bec8c728fefb747ed035eb5082aa2b"}}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", a, want)
	}
}

func TestReportsGoldenBothWays(t *testing.T) {
	hdr := func(typ string) Header {
		return Header{EBDID: "01010336112610400000" + "0000000000000002", EBDType: typ, SRC: "010336112610400000",
			DEST: "010336112600000000", EBDTime: "2026-07-01 08:00:05", RelatedEBD: &EBDRef{EBDID: "010103361126000000000000000000000001"}}
	}
	for _, c := range []struct {
		file string
		ebd  *EBD
	}{
		{"ebd-response.xml", &EBD{Version: "1.0", Header: hdr(TypeResponse), Response: &EBDResponse{ResultCode: ResultSignature, ResultDesc: "签名验证失败"}}},
		{"ebm-state.xml", &EBD{Version: "1.0", Header: hdr(TypeState), State: &EBMStateResponse{RptTime: "2026-07-01 08:00:30",
			EBMID: "010336112600000000202607010001", BrdStateCode: BrdPlaying, BrdStateDesc: "播发中",
			Coverage: []Coverage{{AreaCode: "361126000000", CoverageRate: "96.0", ResTotal: 125, ResPlayed: 120}}}}},
		{"ebm-state-request.xml", &EBD{Version: "1.0", Header: hdr(TypeStateReq), StateReq: &EBMStateRequest{EBMID: "010336112600000000202607010001"}}},
		{"connection-check.xml", &EBD{Version: "1.0", Header: hdr(TypeCheck), Check: &ConnectionCheck{RptTime: "2026-07-01 08:00:30"}}},
		{"terminal-state.xml", &EBD{Version: "1.0", Header: hdr(TypeTerminalRept), Terms: &EBRDTState{RptTime: "2026-07-01 08:02:00",
			Terminals: []Terminal{{EBRID: "070136112610420101", StateCode: ResOn, StateDesc: "开机/运行正常"},
				{EBRID: "070136112610420102", StateCode: ResOff, StateDesc: "关机/停止运行"}}}}},
	} {
		b, err := c.ebd.Encode()
		if err != nil {
			t.Fatal(err)
		}
		golden(t, c.file, b)
		back, err := ParseEBD(b)
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		back.XMLName = c.ebd.XMLName
		if !reflect.DeepEqual(back, c.ebd) {
			t.Errorf("%s: parsed %+v, want %+v", c.file, back, c.ebd)
		}
	}
}

// rainCAP is the alert in testdata/cap-alert.xml.
func rainCAP() *CAPAlert {
	return &CAPAlert{Identifier: "CN-JX-20260701-0007", Sender: "jx-meteo@example.cn", Sent: "2026-07-01T08:00:00+08:00", Status: "Actual",
		MsgType: "Alert", Scope: "Public", Info: []CAPInfo{{Language: "zh-CN", Category: []string{"Met"}, Event: "暴雨", Urgency: "Immediate",
			Severity: "Severe", Certainty: "Observed", Expires: "2026-07-01T20:00:00+08:00", SenderName: "江西省气象台",
			Headline: "暴雨橙色预警", Description: "未来3小时将出现50毫米以上降水。", Instruction: "请注意防范山洪和地质灾害。",
			Resource: []CAPResource{{Desc: "预警音频", MimeType: "audio/wav", Size: "44", URI: "rain.wav",
				Digest: "da39a3ee5e6b4b0d3255bfef95601890afd80709"}},
			Area: []CAPArea{{Desc: "曹溪镇", Geocode: []CAPGeocode{{ValueName: "GB2260", Value: "361126104000"}}}}}}}
}

func TestCAPGoldenBothWays(t *testing.T) {
	b, err := rainCAP().Encode()
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "cap-alert.xml", b)
	c, err := ParseCAP(b)
	if err != nil {
		t.Fatal(err)
	}
	a, err := c.Alert()
	if err != nil {
		t.Fatal(err)
	}
	want := &Alert{Format: "cap", ID: "jx-meteo@example.cn,CN-JX-20260701-0007", EnvelopeID: "jx-meteo@example.cn,CN-JX-20260701-0007",
		SenderName: "江西省气象台", SenderCode: "jx-meteo@example.cn", Type: MsgBroadcast, Severity: priority.Orange, EventType: "暴雨",
		Start: mustRFC3339(t, "2026-07-01T08:00:00+08:00"), End: mustRFC3339(t, "2026-07-01T20:00:00+08:00"), Language: "zh-CN",
		Title: "暴雨橙色预警", Description: "未来3小时将出现50毫米以上降水。\n请注意防范山洪和地质灾害。", Areas: []string{"361126104000"},
		Audio: []Attachment{{Name: "rain.wav", Size: 44, Digest: "da39a3ee5e6b4b0d3255bfef95601890afd80709"}}}
	if !reflect.DeepEqual(a, want) {
		t.Errorf("parsed\n%+v\nwant\n%+v", a, want)
	}
}

func mustRFC3339(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
