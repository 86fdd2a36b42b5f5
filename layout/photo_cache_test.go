package layout

import (
	"context"
	"crypto/sha256"
	"fmt"
	"image"
	"testing"

	"github.com/cardd/cardd/printer"
)

func halfPortrait() image.Image {
	return image.NewYCbCr(image.Rect(0, 0, 432, 576), image.YCbCrSubsampleRatio420)
}

func cacheKey(i int) photoKey {
	return photoKey{job: fmt.Sprintf("JOB-%03d", i), sum: sha256.Sum256([]byte{byte(i), byte(i >> 8)}), denom: 2}
}

// TestPhotoCacheKeepsTheQueueHead: a queue longer than the cache (one
// screened whole before its first card is composed, 300 one-megapixel
// portraits at half size) keeps the decodes of the jobs screened first,
// within the bound of bytes; those are the cards printed first, and each
// of them is decoded only once. Past the bound, the newest decode stays
// (beside the bound) for the checks that follow at intake. A card
// composed frees room for the jobs admitted after it, whose decodes are
// then taken too.
func TestPhotoCacheKeepsTheQueueHead(t *testing.T) {
	size := imageBytes(halfPortrait())
	var c photoCache
	fit := maxCachedPhotoBytes / size
	if fit < 150 {
		t.Fatalf("the bound holds %d one-megapixel portraits at half size; want at least 150", fit)
	}
	const queued, later = 300, 100
	for i := range queued {
		c.put(cacheKey(i), halfPortrait())
		// The photo gate's check that follows finds the decode.
		if _, ok := c.get(cacheKey(i), false); !ok {
			t.Fatalf("job %d: the decode is not kept for the checks that follow at intake", i)
		}
	}
	if c.bytes > maxCachedPhotoBytes || len(c.entries) != fit || c.bytes != fit*size || c.last.key != cacheKey(queued-1) {
		t.Fatalf("%d photos, %d bytes kept, last %s; want %d photos within %d bytes, last JOB-%03d", len(c.entries), c.bytes, c.last.key.job, fit, maxCachedPhotoBytes, queued-1)
	}
	// Printed in the order screened; one job admitted (and screened) as
	// each card is composed.
	decodedAgain := 0
	for i := range queued + later {
		_, ok := c.get(cacheKey(i), true)
		if want := i < fit || i >= queued-1; ok != want {
			t.Errorf("job %d: decode kept for its card: %v, want %v", i, ok, want)
		}
		if !ok {
			decodedAgain++
		}
		c.release(cacheKey(i).job, true)
		if i < later {
			c.put(cacheKey(queued+i), halfPortrait())
		}
		if c.bytes > maxCachedPhotoBytes || c.last.size > maxLastPhotoBytes {
			t.Fatalf("after job %d: %d bytes kept, bound %d, and %d last", i, c.bytes, maxCachedPhotoBytes, c.last.size)
		}
	}
	if decodedAgain != queued-fit-1 {
		t.Errorf("%d photos decoded again, want %d (those of the jobs past the cache's room at intake, but the last)", decodedAgain, queued-fit-1)
	}
	if len(c.entries) != 0 || c.bytes != 0 || c.last.size != 0 {
		t.Fatalf("after every card: %d photos, %d bytes kept", len(c.entries), c.bytes)
	}
	// A photo larger than the bound is not kept, and drops nothing.
	c.put(cacheKey(0), halfPortrait())
	c.put(cacheKey(1), image.NewGray(image.Rect(0, 0, 1<<13, 1<<13+1)))
	if _, ok := c.get(cacheKey(0), false); !ok || len(c.entries) != 1 {
		t.Fatalf("a photo past the bound: %d kept", len(c.entries))
	}
}

// TestPhotoCacheRelease: a job's release (held, refused, cancelled, or its
// card composed) forgets every decode of it, whatever its size, and
// nothing of other jobs.
func TestPhotoCacheRelease(t *testing.T) {
	var c photoCache
	a2, a1, b := cacheKey(1), cacheKey(1), cacheKey(2)
	a1.denom = 1
	c.put(a2, halfPortrait())
	c.put(a1, image.NewGray(image.Rect(0, 0, 100, 100)))
	c.put(b, halfPortrait())
	c.release(a1.job, false)
	if len(c.entries) != 1 || c.entries[0].key != b || c.bytes != imageBytes(halfPortrait()) {
		t.Fatalf("after the release of %s: %d photos, %d bytes kept", a1.job, len(c.entries), c.bytes)
	}
	c.release(b.job, false)
	if len(c.entries) != 0 || c.bytes != 0 {
		t.Fatalf("after every release: %d photos, %d bytes kept", len(c.entries), c.bytes)
	}
	// The last decode (past the bound) too.
	fit := maxCachedPhotoBytes / imageBytes(halfPortrait())
	for i := range fit + 1 {
		c.put(cacheKey(10+i), halfPortrait())
	}
	if c.last.key != cacheKey(10+fit) {
		t.Fatalf("last %s, want %s", c.last.key.job, cacheKey(10+fit).job)
	}
	c.release(cacheKey(10+fit).job, false)
	if c.last.size != 0 || len(c.entries) != fit {
		t.Fatalf("after every release: %d photos, %d bytes kept", len(c.entries), c.bytes)
	}
}

// TestPhotoCachePassedOver: a full cache drops a decode that stayed while
// maxPassedOver cards were composed (its job left the queue unseen), and
// only then, for a new one.
func TestPhotoCachePassedOver(t *testing.T) {
	var c photoCache
	fit := maxCachedPhotoBytes / imageBytes(halfPortrait())
	for i := range fit {
		c.put(cacheKey(i), halfPortrait())
	}
	// Cards of other jobs: the decodes stay.
	for i := range maxPassedOver - 1 {
		c.release(fmt.Sprintf("OTHER-%d", i), true)
	}
	c.put(cacheKey(fit), halfPortrait())
	if len(c.entries) != fit || c.last.key != cacheKey(fit) {
		t.Fatalf("after %d cards: %d kept, last %s (want %d, and the new one last)", maxPassedOver-1, len(c.entries), c.last.key.job, fit)
	}
	c.release("OTHER", true)
	c.put(cacheKey(fit+1), halfPortrait())
	if len(c.entries) != 2 || c.entries[0].key != cacheKey(fit) || c.entries[1].key != cacheKey(fit+1) || c.last.size != 0 {
		t.Fatalf("after %d cards: %d kept (want only the two new ones)", maxPassedOver, len(c.entries))
	}
}

// TestReleasePhotos: the daemon's release of a job (held, refused,
// cancelled before its card) and the composition of its card free the
// intake's decode; another job's card does not.
func TestReleasePhotos(t *testing.T) {
	tp, err := parseT(t, side+"kind = \"rect\"\nw = 1\nh = 1\nfill = \"red\"\n")
	if err != nil {
		t.Fatal(err)
	}
	photo := jpegBytes(t, 64, 64)
	sum := sha256.Sum256(photo)
	r := NewRenderer(nil)
	kept := func(job string) bool {
		_, ok := r.photos.get(photoKey{job: job, sum: sum, denom: 1}, false)
		return ok
	}
	for _, job := range []string{"JOB-1", "JOB-2"} {
		if _, err := r.IntakePhoto(job, photo, sum, "p.jpg"); err != nil {
			t.Fatal(err)
		}
	}
	r.ReleasePhotos("JOB-1")
	if kept("JOB-1") || !kept("JOB-2") {
		t.Fatalf("after JOB-1's release: JOB-1 kept %v, JOB-2 kept %v", kept("JOB-1"), kept("JOB-2"))
	}
	if _, err := r.Render(context.Background(), tp, &Data{JobID: "JOB-3"}, printer.CR80(300)); err != nil {
		t.Fatal(err)
	}
	if !kept("JOB-2") {
		t.Fatal("JOB-3's card dropped JOB-2's decode")
	}
	// A card that does not show the photo still frees its decode.
	if _, err := r.Render(context.Background(), tp, &Data{JobID: "JOB-2", Photo: photo, PhotoSHA256: sum}, printer.CR80(300)); err != nil {
		t.Fatal(err)
	}
	if kept("JOB-2") || len(r.photos.entries) != 0 {
		t.Fatalf("after JOB-2's card: %d decodes kept", len(r.photos.entries))
	}
}
