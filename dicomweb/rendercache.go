package dicomweb

import (
	"container/list"
	"sync"

	"github.com/medimg/medimg/dicomweb/pixels"
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

// formatCache maps a file's content hash and pixel transfer syntax to its pixel attributes. The
// attributes are a function of the content, so an entry is never stale; when full it starts over,
// which costs one metadata read per instance rendered next.
type formatCache struct {
	mu  sync.Mutex
	max int
	m   map[string]pixels.Format
}

func newFormatCache(max int) *formatCache {
	return &formatCache{max: max, m: map[string]pixels.Format{}}
}

func (c *formatCache) get(key string) (pixels.Format, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f, ok := c.m[key]
	return f, ok
}

func (c *formatCache) put(key string, f pixels.Format) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= c.max {
		clear(c.m)
	}
	c.m[key] = f
}

// renderSlot is the memory of one of the frames rendered at once, reused from one frame to the
// next: a 512×512 CT frame is half a megabyte to allocate and clear per request otherwise.
type renderSlot struct {
	frame []byte
}

// maxSlotBuffer bounds the buffer a slot keeps (a 2,048×2,048 16-bit frame); a larger frame is
// read into memory of its own.
const maxSlotBuffer = 8 << 20

// buffer returns n bytes of the slot's buffer, or new memory without a slot.
func (s *renderSlot) buffer(n int) []byte {
	if s == nil || n > maxSlotBuffer {
		return make([]byte, n)
	}
	if cap(s.frame) < n {
		s.frame = make([]byte, n)
	}
	return s.frame[:n]
}
