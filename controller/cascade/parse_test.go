package cascade

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Bad messages are refused whole, with the result code the standard gives and the field named.
func TestEBDRefusals(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "ebm-broadcast.xml"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string {
		if !strings.Contains(string(good), old) {
			t.Fatalf("fixture has no %q", old)
		}
		return strings.Replace(string(good), old, new, 1)
	}
	for _, c := range []struct {
		name, xml string
		code      ResultCode
		says      string
	}{
		{"not XML", "hello", ResultParse, "text before the root element"},
		{"empty", "", ResultParse, "no <EBD> element"},
		{"other root", "<CAP/>", ResultParse, "root element <CAP>"},
		{"DTD", `<!DOCTYPE EBD [<!ENTITY x "y">]><EBD/>`, ResultParse, "DTD"},
		{"GBK", strings.Replace(string(good), "UTF-8", "GBK", 1), ResultParse, "only UTF-8"},
		{"two roots", string(good) + "<EBD/>", ResultParse, "after the root element"},
		{"unknown element", edit("<EBMVersion>", "<Extra>1</Extra><EBMVersion>"), ResultParse, "unexpected element <Extra>"},
		{"unknown type", edit("<EBDType>EBM</EBDType>", "<EBDType>OMDRequest</EBDType>"), ResultParse, "not a type this platform reads"},
		{"short EBDID", edit("<EBDID>010103361126000000000000000000000001</EBDID>", "<EBDID>0101</EBDID>"), ResultMissing, "EBDID"},
		{"bad time", edit("<EBDTime>2026-07-01 08:00:00</EBDTime>", "<EBDTime>2026-07-01T08:00:00Z</EBDTime>"), ResultMissing, "EBDTime"},
		{"no EBM body", edit("<EBDType>EBM</EBDType>", "<EBDType>ConnectionCheck</EBDType>"), ResultMissing, "no <ConnectionCheck> body"},
		{"severity 7", edit("<Severity>1</Severity>", "<Severity>7</Severity>"), ResultMissing, "Severity"},
		{"msg type 9", edit("<MsgType>1</MsgType>", "<MsgType>9</MsgType>"), ResultMissing, "MsgType"},
		{"end before start", edit("<EndTime>2026-07-01 12:00:00</EndTime>", "<EndTime>2026-07-01 07:00:00</EndTime>"), ResultMissing, "EndTime"},
		{"no title", edit("<MsgTitle>山洪红色预警</MsgTitle>", "<MsgTitle> </MsgTitle>"), ResultMissing, "title is empty"},
		{"bad area", edit("361126000000,361127101203", "361126000000,36112"), ResultMissing, "AreaCode"},
		{"no area", edit("361126000000,361127101203", ""), ResultMissing, "AreaCode"},
		{"digest not SM3", edit("<Digest>1ab21d", "<Digest>1ab2"), ResultMissing, "digest"},
		{"path in file name", edit("<AuxiliaryDesc>flood.wav", "<AuxiliaryDesc>../flood.wav"), ResultMissing, "plain file name"},
		{"cancel without reference", edit("<MsgType>1</MsgType>", "<MsgType>2</MsgType>"), ResultMissing, "RelatedInfo/EBMID"},
	} {
		e, err := ParseEBD([]byte(c.xml))
		if err == nil {
			_, err = e.Alert()
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Code != c.code || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want result %d saying %q", c.name, err, c.code, c.says)
		}
	}
}

func TestCAPRefusals(t *testing.T) {
	good, err := os.ReadFile(filepath.Join("testdata", "cap-alert.xml"))
	if err != nil {
		t.Fatal(err)
	}
	edit := func(old, new string) string { return strings.Replace(string(good), old, new, 1) }
	for _, c := range []struct {
		name, xml string
		code      ResultCode
		says      string
	}{
		{"CAP 1.1 namespace", edit("cap:1.2", "cap:1.1"), ResultParse, "cap:1.2"},
		{"test status", edit("<status>Actual</status>", "<status>Test</status>"), ResultOther, "not for broadcast"},
		{"unknown status", edit("<status>Actual</status>", "<status>Real</status>"), ResultMissing, "CAP status"},
		{"ack", edit("<msgType>Alert</msgType>", "<msgType>Ack</msgType>"), ResultOther, "not for broadcast"},
		{"bad severity", edit("<severity>Severe</severity>", "<severity>Huge</severity>"), ResultMissing, "severity"},
		{"bad urgency", edit("<urgency>Immediate</urgency>", "<urgency>Now</urgency>"), ResultMissing, "urgency"},
		{"bad certainty", edit("<certainty>Observed</certainty>", "<certainty>Sure</certainty>"), ResultMissing, "certainty"},
		{"no expiry", edit("<expires>2026-07-01T20:00:00+08:00</expires>", ""), ResultMissing, "expires"},
		{"geocode not a region", edit("<value>361126104000</value>", "<value>Caoxi</value>"), ResultMissing, "geocode"},
		{"cancel without references", edit("<msgType>Alert</msgType>", "<msgType>Cancel</msgType>"), ResultMissing, "references"},
		{"unknown element", edit("<scope>Public</scope>", "<scope>Public</scope><code>x</code><extra/>"), ResultParse, "unexpected element"},
	} {
		a, err := ParseCAP([]byte(c.xml))
		if err == nil {
			_, err = a.Alert()
		}
		var pe *ParseError
		if !errors.As(err, &pe) || pe.Code != c.code || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want result %d saying %q", c.name, err, c.code, c.says)
		}
	}
}

func TestConfigRefusals(t *testing.T) {
	dir := t.TempDir()
	for _, c := range []struct{ name, yaml, says string }{
		{"unknown field", "platform_id: \"010336112610400000\"\nname: x\nupstreem: {}\n", "upstreem"},
		{"short platform id", "platform_id: \"0103\"\nname: x\n", "platform_id"},
		{"no name", "platform_id: \"010336112610400000\"\n", "name"},
		{"drills without terminals", "platform_id: \"010336112610400000\"\nname: x\ndrills: drill_terminals\n", "drill_terminals"},
		{"bad drills", "platform_id: \"010336112610400000\"\nname: x\ndrills: sometimes\n", "drills"},
		{"upstream not http", "platform_id: \"010336112610400000\"\nname: x\nupstream: {url: \"ftp://county\"}\n", "upstream.url"},
		{"downstream bad area", "platform_id: \"010336112610400000\"\nname: x\ndownstream:\n  - {name: a, cert: a.crt, url: \"http://a\", areas: [\"3611\"]}\n", "area code"},
		{"upper without cert", "platform_id: \"010336112610400000\"\nname: x\nupper:\n  - {name: county}\n", "upper[0]"},
	} {
		p := filepath.Join(dir, c.name+".yaml")
		os.WriteFile(p, []byte(c.yaml), 0o644)
		if _, err := LoadConfig(p); err == nil || !strings.Contains(err.Error(), c.says) {
			t.Errorf("%s: %v, want an error naming %q", c.name, err, c.says)
		}
	}
	p := filepath.Join(dir, "missing-cert.yaml")
	os.WriteFile(p, []byte("platform_id: \"010336112610400000\"\nname: x\nupper:\n  - {name: county, cert: nowhere.crt}\n"), 0o644)
	cfg, err := LoadConfig(p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cfg.Trust(); err == nil || !strings.Contains(err.Error(), "nowhere.crt") {
		t.Errorf("missing certificate: %v", err)
	}
}
