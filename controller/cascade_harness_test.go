package controller_test

// Helpers for cascade tests: an upper platform that signs messages with a key made in the
// test, and controllers started with a cascade configuration.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/emmansun/gmsm/sm2"

	"dalaba/controller"
	"dalaba/controller/cascade"
)

// upper is a platform above the controllers under test: its key, its certificate (a file the
// controllers' configurations name) and its resource ID.
type upper struct {
	name, id string
	signer   *cascade.Signer
	certFile string
	seq      atomic.Int64
}

// newUpper makes a platform with a key of the kind asked for (cascade.AlgSM2, AlgECDSA),
// its certificate valid from nb to na.
func newUpper(t testing.TB, name, id, kind string, nb, na time.Time) *upper {
	t.Helper()
	var key crypto.Signer
	var err error
	if kind == cascade.AlgSM2 {
		key, err = sm2.GenerateKey(rand.Reader)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	pemCert, err := cascade.SelfSigned(key, name, nb, na)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := cascade.ParseCertPEM(pemCert)
	if err != nil {
		t.Fatal(err)
	}
	u := &upper{name: name, id: id, signer: &cascade.Signer{Cert: cert, Key: key}}
	u.certFile = writeFile(t, name+".crt", pemCert)
	u.seq.Store(time.Now().UnixMicro())
	return u
}

func validUpper(t testing.TB, name, id, kind string) *upper {
	return newUpper(t, name, id, kind, time.Now().Add(-time.Hour), time.Now().Add(24*time.Hour))
}

// msg is an emergency message as a test writes it.
type msg struct {
	ebmSeq   int
	typ      cascade.MsgType
	severity int
	areas    string
	title    string
	desc     string
	audio    []byte // WAV, attached as alert.wav; nil: text only
	lasts    time.Duration
	cancels  string // EBMID, for a cancel
}

func (u *upper) ebmID(seq int) string {
	return cascade.Message{Platform: u.id, Seq: seq}.EBMID(time.Now())
}

// ebd builds the envelope of m and its files.
func (u *upper) ebd(m msg) (*cascade.EBD, map[string][]byte) {
	now := time.Now()
	if m.lasts == 0 {
		m.lasts = 30 * time.Minute
	}
	var areas []string
	if m.areas != "" {
		areas = strings.Split(m.areas, ",")
	}
	return cascade.Message{Platform: u.id, SenderName: u.name, Seq: m.ebmSeq, Type: m.typ, Severity: m.severity, Areas: areas,
		Title: m.title, Desc: m.desc, Audio: m.audio, Start: now.Add(-time.Second), End: now.Add(m.lasts), Cancels: m.cancels,
	}.Envelope(cascade.NewEBDID(u.id, u.seq.Add(1)), now)
}

// pkg encodes and signs e into a package.
func (u *upper) pkg(t testing.TB, e *cascade.EBD, files map[string][]byte) *cascade.Package {
	t.Helper()
	p, err := u.signer.Pack(e, files, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// postPackage sends a package to a controller's intake and reads the answer, an EBDResponse
// or (to a state request) an EBMStateResponse; not verified here: the test checks what the
// controller said.
func postPackage(t testing.TB, httpAddr, kind string, p *cascade.Package) (*cascade.EBD, *cascade.Package) {
	t.Helper()
	b, err := p.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post("http://"+httpAddr+"/api/v1/cascade/"+kind, "application/x-tar", bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("intake answered HTTP %d", resp.StatusCode)
	}
	if kind == "cap" {
		var body bytes.Buffer
		body.ReadFrom(resp.Body)
		return nil, &cascade.Package{Message: body.Bytes()}
	}
	rp, err := cascade.ReadPackage(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	e, err := cascade.ParseEBD(rp.Message)
	if err != nil || (e.Response == nil && e.State == nil) {
		t.Fatalf("intake answer %v: %s", err, rp.Message)
	}
	return e, rp
}

// send signs m and posts it; it returns the result code and description.
func (u *upper) send(t testing.TB, c *controller.Controller, m msg) (cascade.ResultCode, string, *cascade.EBD) {
	t.Helper()
	e, files := u.ebd(m)
	r, _ := postPackage(t, c.HTTPAddr, "ebd", u.pkg(t, e, files))
	return r.Response.ResultCode, r.Response.ResultDesc, e
}

// cascadeDir makes a data directory holding the controller's cascade key and certificate
// (what `controller --print-cascade-cert` hands out), so that peers can trust it before it starts.
func cascadeDir(t testing.TB, name string) (dataDir, certFile string) {
	t.Helper()
	dataDir = filepath.Join(t.TempDir(), "data")
	if _, _, err := cascade.LoadSigner(dataDir, name); err != nil {
		t.Fatal(err)
	}
	return dataDir, filepath.Join(dataDir, cascade.CertFile)
}

// startCascade runs a controller with the cascade configuration cfg (YAML) on dataDir; site
// false starts it without terminals (a county platform).
func startCascade(t testing.TB, dataDir, cfg string, site bool, set func(*controller.Options)) *controller.Controller {
	t.Helper()
	file := writeFile(t, "cascade.yaml", []byte(cfg))
	c, _ := startReview(t, func(o *controller.Options) {
		o.DataDir, o.CascadeConfig = dataDir, file
		if !site {
			o.SiteCSV = ""
		}
		if set != nil {
			set(o)
		}
	})
	return c
}

// capBroadcastSuffix is how the cascade names a CAP alert's broadcast (after "cap-").
func capBroadcastSuffix(key string) string {
	h := sha256.Sum256([]byte(key))
	return hex.EncodeToString(h[:16])
}

func sha1Hex(b []byte) string {
	h := sha1.Sum(b)
	return hex.EncodeToString(h[:])
}
