package audio

import (
	"container/list"
	"sync"
)

// defaultCacheBytes holds a few dozen typical programs (a 10-minute notice is 19 MB).
const defaultCacheBytes = 256 << 20

// pcmCache keeps recently used programs in memory, least recently used evicted first once
// over its byte budget. When a broadcast starts, 125..10,000 terminals fetch the same
// program at once; concurrent misses for one id share a single load.
type pcmCache struct {
	mu      sync.Mutex
	max     int64
	size    int64
	lru     *list.List // of *cacheEntry, most recent at the front; loaded entries only
	entries map[string]*cacheEntry
}

type cacheEntry struct {
	id    string
	ready chan struct{} // closed once data or err is set
	data  []byte
	err   error
	elem  *list.Element // nil while loading
}

func newPCMCache(maxBytes int64) *pcmCache {
	return &pcmCache{max: maxBytes, lru: list.New(), entries: make(map[string]*cacheEntry)}
}

// get returns the cached data for id, or runs load once for all concurrent callers.
// Failed loads are not cached: the file may appear later (a Put racing a Fetch).
func (c *pcmCache) get(id string, load func() ([]byte, error)) ([]byte, error) {
	c.mu.Lock()
	if e, ok := c.entries[id]; ok {
		if e.elem != nil {
			c.lru.MoveToFront(e.elem)
		}
		c.mu.Unlock()
		<-e.ready
		return e.data, e.err
	}
	e := &cacheEntry{id: id, ready: make(chan struct{})}
	c.entries[id] = e
	c.mu.Unlock()

	data, err := load()

	c.mu.Lock()
	e.data, e.err = data, err
	if c.entries[id] == e {
		if err != nil {
			delete(c.entries, id)
		} else {
			c.addLocked(e)
		}
	}
	c.mu.Unlock()
	close(e.ready)
	return data, err
}

// put caches data for id unless a load for it is under way (that load reads the same bytes).
func (c *pcmCache) put(id string, data []byte) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.entries[id]; ok {
		if e.elem != nil {
			c.lru.MoveToFront(e.elem)
		}
		return
	}
	e := &cacheEntry{id: id, ready: make(chan struct{}), data: data}
	close(e.ready)
	c.entries[id] = e
	c.addLocked(e)
}

// addLocked links a loaded entry and evicts from the back, always keeping the newest so a
// program larger than the budget is still served from memory while it is being fetched.
func (c *pcmCache) addLocked(e *cacheEntry) {
	e.elem = c.lru.PushFront(e)
	c.size += int64(len(e.data))
	for c.size > c.max && c.lru.Len() > 1 {
		old := c.lru.Remove(c.lru.Back()).(*cacheEntry)
		delete(c.entries, old.id)
		c.size -= int64(len(old.data))
	}
}
