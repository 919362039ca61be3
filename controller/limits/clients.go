package limits

import (
	"crypto/sha256"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// ClientIP is the address a request's limits are counted against: the peer's IP (a proxy's
// X-Forwarded-For is not trusted: anyone can write it), an IPv6 peer by its /64, which one
// host usually holds whole.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap()
	if ip.Is4() {
		return ip.String()
	}
	p, _ := ip.WithZone("").Prefix(64)
	return p.String()
}

// bearer is the request's Bearer token, or "".
func bearer(r *http.Request) string {
	scheme, token, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	if !strings.EqualFold(scheme, "Bearer") {
		return ""
	}
	return strings.TrimSpace(token)
}

// tokenTTL is how long after its last use a token found valid still counts against its user
// without asking again. A session ended meanwhile only has its requests counted in the wrong
// bucket: the API itself refuses them. The first request of a token not known here counts
// against the address.
const (
	tokenTTL       = 10 * time.Minute
	maxKnownTokens = 10_000
)

// tokens remembers, by hash, the user of tokens found valid.
type tokens struct {
	mu sync.Mutex
	m  map[[32]byte]knownToken
}

type knownToken struct {
	user  string
	until time.Time
}

func (t *tokens) get(token string, now time.Time) (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	h := sha256.Sum256([]byte(token))
	k, ok := t.m[h]
	if !ok || now.After(k.until) {
		return "", false
	}
	k.until = now.Add(tokenTTL)
	t.m[h] = k
	return k.user, true
}

func (t *tokens) put(token, user string, now time.Time) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.m == nil || len(t.m) >= maxKnownTokens {
		t.m = map[[32]byte]knownToken{}
	}
	t.m[sha256.Sum256([]byte(token))] = knownToken{user: user, until: now.Add(tokenTTL)}
}
