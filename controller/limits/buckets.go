package limits

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// maxKeys bounds the clients remembered at once. Past it (a flood from very many addresses)
// every bucket starts afresh: memory stays bounded, and each client gets at most one more burst.
const maxKeys = 100_000

// buckets is a token bucket per client key.
type buckets struct {
	limit rate.Limit
	burst int

	mu    sync.Mutex
	m     map[string]*bucket
	swept time.Time
}

type bucket struct {
	lim    *rate.Limiter
	used   time.Time
	warned time.Time // last refusal logged, so a flood is logged once a minute, not per request
}

func newBuckets(perSecond float64, burst int) *buckets {
	limit := rate.Limit(perSecond)
	if perSecond < 0 {
		limit = rate.Inf
	}
	return &buckets{limit: limit, burst: burst, m: map[string]*bucket{}}
}

// take spends one token of key's bucket. When none is left it returns false and how long until
// one is, and whether this refusal is worth logging.
func (b *buckets) take(key string, now time.Time) (ok bool, wait time.Duration, logIt bool) {
	if b.limit == rate.Inf {
		return true, 0, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.sweep(now)
	bk := b.m[key]
	if bk == nil {
		bk = &bucket{lim: rate.NewLimiter(b.limit, b.burst)}
		b.m[key] = bk
	}
	bk.used = now
	res := bk.lim.ReserveN(now, 1)
	if !res.OK() {
		return false, time.Minute, false
	}
	if wait = res.DelayFrom(now); wait <= 0 {
		return true, 0, false
	}
	res.CancelAt(now) // refused: the token was not spent
	logIt = now.Sub(bk.warned) >= time.Minute
	if logIt {
		bk.warned = now
	}
	return false, wait, logIt
}

// sweep forgets, once a minute, clients idle long enough for their bucket to be full again:
// they would start with a full one anyway. Caller holds mu.
func (b *buckets) sweep(now time.Time) {
	if now.Sub(b.swept) < time.Minute && len(b.m) < maxKeys {
		return
	}
	b.swept = now
	refill := 24 * time.Hour
	if secs := float64(b.burst) / float64(b.limit); secs < refill.Seconds() {
		refill = time.Duration(secs * float64(time.Second))
	}
	for k, bk := range b.m {
		if now.Sub(bk.used) > refill {
			delete(b.m, k)
		}
	}
	if len(b.m) >= maxKeys {
		b.m = map[string]*bucket{}
	}
}

func (b *buckets) size() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.m)
}
