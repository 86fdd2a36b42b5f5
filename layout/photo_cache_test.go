package layout

import (
	"crypto/sha256"
	"fmt"
	"image"
	"testing"
)

// TestPhotoCacheBoundedByBytes: a batch larger than a field office's queue
// (200 one-megapixel portraits at half size, as a batch screened whole
// before its first card is composed) is kept whole while its pixels fit
// the bound, the oldest decode going first past it; a take forgets.
func TestPhotoCacheBoundedByBytes(t *testing.T) {
	half := func() image.Image {
		return image.NewYCbCr(image.Rect(0, 0, 432, 576), image.YCbCrSubsampleRatio420)
	}
	size := imageBytes(half())
	key := func(i int) photoKey {
		return photoKey{job: fmt.Sprintf("JOB-%03d", i), sum: sha256.Sum256([]byte{byte(i)}), denom: 2}
	}
	var c photoCache
	fit := maxCachedPhotoBytes / size
	if fit < 150 {
		t.Fatalf("the bound holds %d one-megapixel portraits at half size; want at least 150", fit)
	}
	n := fit + 10
	for i := range n {
		c.put(key(i), half())
	}
	if c.bytes > maxCachedPhotoBytes || len(c.entries) != fit || c.bytes != fit*size {
		t.Fatalf("%d photos, %d bytes kept; want %d photos within %d bytes", len(c.entries), c.bytes, fit, maxCachedPhotoBytes)
	}
	for i := range n {
		_, ok := c.get(key(i), true)
		if want := i >= n-fit; ok != want {
			t.Fatalf("photo %d kept: %v, want %v (the oldest go first)", i, ok, want)
		}
	}
	if len(c.entries) != 0 || c.bytes != 0 {
		t.Fatalf("after every take: %d photos, %d bytes kept", len(c.entries), c.bytes)
	}
	// A photo larger than the bound is not kept, and drops nothing.
	c.put(key(0), half())
	c.put(key(1), image.NewGray(image.Rect(0, 0, 1<<13, 1<<13+1)))
	if _, ok := c.get(key(0), false); !ok || len(c.entries) != 1 {
		t.Fatalf("a photo past the bound: %d kept", len(c.entries))
	}
}
