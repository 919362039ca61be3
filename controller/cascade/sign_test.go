package cascade

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"dalaba/controller/inventory"
	"dalaba/proto/wire"
)

// testSigner makes a key of the kind asked for and a certificate valid from nb to na.
func testSigner(t testing.TB, kind, name string, nb, na time.Time) *Signer {
	t.Helper()
	var key crypto.Signer
	var err error
	switch kind {
	case AlgSM2:
		key, err = sm2.GenerateKey(rand.Reader)
	case AlgECDSA:
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case AlgEd25519:
		_, key, err = ed25519.GenerateKey(rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	pemCert, err := SelfSigned(key, name, nb, na)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := ParseCertPEM(pemCert)
	if err != nil {
		t.Fatal(err)
	}
	return &Signer{Cert: cert, Key: key}
}

func TestSignatureVerification(t *testing.T) {
	now := time.Now()
	valid := func(kind, name string) *Signer {
		return testSigner(t, kind, name, now.Add(-time.Hour), now.Add(time.Hour))
	}
	county, weather, province := valid(AlgSM2, "county"), valid(AlgECDSA, "weather"), valid(AlgEd25519, "province")
	township := valid(AlgSM2, "township")
	expired := testSigner(t, AlgSM2, "old-county", now.Add(-48*time.Hour), now.Add(-24*time.Hour))
	notYet := testSigner(t, AlgSM2, "next-county", now.Add(time.Hour), now.Add(48*time.Hour))
	stranger := valid(AlgSM2, "stranger")
	trust, err := NewTrust([]Issuer{{"county", Upper, county.Cert}, {"weather", Upper, weather.Cert}, {"province", Upper, province.Cert},
		{"township", Downstream, township.Cert}, {"old-county", Upper, expired.Cert}, {"next-county", Upper, notYet.Cert}})
	if err != nil {
		t.Fatal(err)
	}
	msg, err := floodEBD().Encode()
	if err != nil {
		t.Fatal(err)
	}
	sign := func(s *Signer, m []byte) []byte {
		b, err := s.Sign(m, "010103361126000000000000000000000001", now)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for _, s := range []*Signer{county, weather, province} {
		is, err := trust.Verify(msg, sign(s, msg), Upper, now)
		if err != nil || is.Name != s.Cert.Subject.CommonName {
			t.Fatalf("genuine %s signature: %v, %+v", s.Cert.Subject.CommonName, err, is)
		}
	}
	tampered := []byte(strings.Replace(string(msg), "<Severity>1</Severity>", "<Severity>4</Severity>", 1))
	// A stranger's key under the county's serial number: the wrong key for that certificate.
	forged := sign(stranger, msg)
	forged = []byte(strings.Replace(string(forged), upperHex(stranger), upperHex(county), 1))
	for _, c := range []struct {
		name     string
		msg, sig []byte
		role     Role
		want     string
	}{
		{"tampered message", tampered, sign(county, msg), Upper, "does not match the message"},
		{"missing signature", msg, nil, Upper, "no signature file"},
		{"wrong key", msg, forged, Upper, "does not match the message"},
		{"unknown certificate", msg, sign(stranger, msg), Upper, "not a trusted one"},
		{"expired certificate", msg, sign(expired, msg), Upper, "not now"},
		{"certificate not yet valid", msg, sign(notYet, msg), Upper, "not now"},
		{"downstream key sending an emergency", msg, sign(township, msg), Upper, "trusted as downstream"},
		{"garbage signature file", msg, []byte("<Signature><CertSN>zz</CertSN>"), Upper, "signature file"},
		{"value not base64", msg, []byte(strings.Replace(string(sign(county, msg)), "<SignatureValue>", "<SignatureValue>!!", 1)), Upper, "not base64"},
		{"algorithm swapped", msg, []byte(strings.Replace(string(sign(county, msg)), ">SM2<", ">ECDSA<", 1)), Upper, "does not match certificate"},
	} {
		_, err := trust.Verify(c.msg, c.sig, c.role, now)
		var pe *ParseError
		if !errors.Is(err, ErrSignature) || !errors.As(err, &pe) || pe.Code != ResultSignature || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v, want result 4 (signature verification failed) saying %q", c.name, err, c.want)
		}
	}
}

func upperHex(s *Signer) string { return strings.ToUpper(s.Cert.SerialNumber.Text(16)) }

func TestAreaMapping(t *testing.T) {
	for _, c := range []struct {
		code, prefix string
		ok           bool
	}{
		{"360000000000", "36", true}, {"361100000000", "3611", true}, {"361126000000", "361126", true},
		{"361126104000", "361126104", true}, {"361126104201", "361126104201", true}, {"361126104201001", "361126104201001", true},
		{"000000000000", "", false}, {"36112610420", "", false}, {"3611261042011", "", false}, {"36112610420x", "", false},
	} {
		a, err := parseArea(c.code)
		if (err == nil) != c.ok || (c.ok && a.Prefix != c.prefix) {
			t.Errorf("parseArea(%q) = %+v, %v; want prefix %q ok %v", c.code, a, err, c.prefix, c.ok)
		}
	}
	county, _ := parseArea("361126000000")
	town, _ := parseArea("361126104000")
	other, _ := parseArea("361127101000")
	if !county.Contains(town) || town.Contains(county) || !town.Overlaps(county) || county.Overlaps(other) {
		t.Error("county should contain the town and not the other county's town")
	}
}

func TestTargetsOnTheCaoxiSite(t *testing.T) {
	inv, err := inventory.ReadFile("../../testdata/caoxi-terminals.csv")
	if err != nil {
		t.Fatal(err)
	}
	town := []wire.Address{{Tier: wire.TierTown, Code: "361126104"}}
	byArea, notOurs := Targets(inv, []string{"360000000000", "361126000000", "361126104000", "361126104201", "361126104201001",
		"361127101000", "361126105000", "361126104999"})
	want := map[string][]wire.Address{"360000000000": town, "361126000000": town, "361126104000": town,
		"361126104201": {{Tier: wire.TierVillage, Code: "361126104201"}}, "361126104201001": {{Tier: wire.TierGroup, Code: "361126104201001"}}}
	if !reflect.DeepEqual(byArea, want) || !reflect.DeepEqual(notOurs, []string{"361127101000", "361126105000", "361126104999"}) {
		t.Errorf("Targets = %v, not ours %v", byArea, notOurs)
	}
}
