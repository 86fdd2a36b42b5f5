package guilloche

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"image"
	"sync"

	"github.com/cardd/cardd/printer"
)

// Cache keeps rendered patterns by their parameters, so a pattern that
// does not vary per card is rasterised once. Cached images are shared:
// callers must treat them as read-only. It is safe for concurrent use and
// holds at most its limit of entries (the oldest goes first).
type Cache struct {
	limit int
	mu    sync.Mutex
	order []string
	items map[string]any
}

// NewCache returns a cache of at most limit patterns (limit < 1 means 16).
func NewCache(limit int) *Cache {
	if limit < 1 {
		limit = 16
	}
	return &Cache{limit: limit, items: map[string]any{}}
}

// Len returns the number of cached images.
func (c *Cache) Len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.items)
}

func cacheKey(kind string, p *Pattern, r image.Rectangle, extra any) (string, error) {
	b, err := json.Marshal(struct {
		Kind  string
		P     *Pattern
		R     image.Rectangle
		Extra any
	}{kind, p, r, extra})
	if err != nil {
		return "", fmt.Errorf("guilloche cache key: %w", err)
	}
	sum := sha256.Sum256(b)
	return string(sum[:]), nil
}

func (c *Cache) get(key string, render func() (any, error)) (any, error) {
	c.mu.Lock()
	if v, ok := c.items[key]; ok {
		c.mu.Unlock()
		return v, nil
	}
	c.mu.Unlock()
	// Render outside the lock; two goroutines may race to render the same
	// pattern, which wastes time but is correct (the results are equal).
	v, err := render()
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.items[key]; ok {
		return old, nil
	}
	c.items[key] = v
	c.order = append(c.order, key)
	for len(c.order) > c.limit {
		delete(c.items, c.order[0])
		c.order = c.order[1:]
	}
	return v, nil
}

// Color returns p.Color(r, grad, cycles), from the cache when it is there.
func (c *Cache) Color(p *Pattern, r image.Rectangle, grad Gradient, cycles float64) (*image.RGBA, error) {
	key, err := cacheKey("color", p, r, struct {
		G Gradient
		C float64
	}{grad, cycles})
	if err != nil {
		return nil, err
	}
	v, err := c.get(key, func() (any, error) { return p.Color(r, grad, cycles) })
	if err != nil {
		return nil, err
	}
	return v.(*image.RGBA), nil
}

// Mono returns p.Mono(r), from the cache when it is there.
func (c *Cache) Mono(p *Pattern, r image.Rectangle) (*printer.Mono, error) {
	key, err := cacheKey("mono", p, r, nil)
	if err != nil {
		return nil, err
	}
	v, err := c.get(key, func() (any, error) { return p.Mono(r) })
	if err != nil {
		return nil, err
	}
	return v.(*printer.Mono), nil
}
