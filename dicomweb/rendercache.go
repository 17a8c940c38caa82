package dicomweb

import (
	"container/list"
	"sync"
)

// renderCache keeps recently rendered images (thumbnails above all, which viewers ask for again
// and again) up to a byte budget, least recently used out first. Keys include the file's content
// hash, so a replaced instance never serves an old image.
type renderCache struct {
	mu    sync.Mutex
	max   int
	size  int
	order *list.List // of *cacheEntry, most recent first
	items map[string]*list.Element
}

type cacheEntry struct {
	key   string
	value []byte
}

func newRenderCache(maxBytes int) *renderCache {
	return &renderCache{max: maxBytes, order: list.New(), items: map[string]*list.Element{}}
}

func (c *renderCache) get(key string) ([]byte, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.items[key]; ok {
		c.order.MoveToFront(e)
		return e.Value.(*cacheEntry).value, true
	}
	return nil, false
}

func (c *renderCache) put(key string, value []byte) {
	if len(value) > c.max/8 {
		return // one large image must not flush everything else
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.items[key]; ok {
		return
	}
	c.items[key] = c.order.PushFront(&cacheEntry{key, value})
	c.size += len(value)
	for c.size > c.max {
		last := c.order.Back()
		e := last.Value.(*cacheEntry)
		c.order.Remove(last)
		delete(c.items, e.key)
		c.size -= len(e.value)
	}
}
