package layout

import (
	"bytes"
	"crypto/sha256"
	"image"
	"sync"

	"github.com/cardd/cardd/internal/jpegscale"
)

// A job's photo is decoded once at intake (the checks before its serial:
// the data must decode, the photo gate looks for the face) and once more
// when its card is composed. The renderer keeps the intake's decodes of the
// jobs not composed yet (photoCache, within a bound of memory) so that the
// composition of a job's card (a field office's card printed while the
// holder waits, or one of a batch) takes it instead of decoding the photo
// again. A decode is kept under the job's id and the
// photo's SHA-256, and handed out once to the composition: a job never
// gets another job's photo, even with the same bytes.
//
// The cache is bounded by the bytes of the pixels it holds, not by a count
// of photos: a batch queued at once is screened whole before its first
// card is composed, so a count as small as a field office's queue would
// have dropped every decode of a large batch before its composition took
// it. maxCachedPhotoBytes holds about 170 one-megapixel portraits at half
// size (373 KiB each), or 14 twelve-megapixel ones.
//
// Jobs are screened in the order they are admitted and printed in about
// the same order, so the decodes kept longest are those needed soonest:
// when the cache is full it keeps what it has and a new decode is not
// kept (its composition decodes again) but for the intake's own checks:
// the newest such decode stays beside the bound until the next one. Dropping the oldest instead would
// drop exactly the decodes of the next cards to print, for decodes needed
// last, and a queue longer than the cache would decode every photo twice.
// A decode leaves the cache when its card is composed (every decode of
// the job: ReleasePhotos) or when its job leaves the queue without a
// card (held, refused, cancelled: the daemon calls ReleasePhotos). As a
// last resort against a job that leaves unseen, a full cache drops the
// decodes that stayed while maxPassedOver cards were composed.

// maxCachedPhotoBytes bounds the pixels kept.
const maxCachedPhotoBytes = 64 << 20

// maxLastPhotoBytes bounds the newest decode a full cache keeps beside
// the bound for the checks that follow at intake (photoCache.last): a
// twelve-megapixel portrait at half size is 4.5 MiB.
const maxLastPhotoBytes = 8 << 20

// maxPassedOver is how many cards may be composed while a decode stays
// kept before a full cache drops it for a new one.
const maxPassedOver = 1024

// minIntakeSide is the least short side, in pixels, of the half-size
// decode the intake checks use: a baseline JPEG whose upright short side
// is at least twice this is decoded at 1/2 of its size for the checks
// (faces are searched for on a copy about 200 pixels across and measured
// with the eyes about 32 pixels apart: a 400-pixel copy has room to spare);
// anything smaller, progressive or PNG is decoded whole.
const minIntakeSide = 400

type photoKey struct {
	job   string
	sum   [sha256.Size]byte
	denom int // 1: whole
}

type cachedPhoto struct {
	key  photoKey
	img  image.Image
	size int
	// taken is the cache's count of compositions when it was put.
	taken uint64
}

// photoCache holds decoded photos, oldest first, and in last the newest
// decode that did not fit. The zero value is empty and ready; it is safe
// for concurrent use.
type photoCache struct {
	mu      sync.Mutex
	entries []cachedPhoto
	bytes   int
	// last is the newest decode that did not fit (size 0: none), kept
	// for the checks that follow its own at intake (the photo gate
	// searches the face in the decode the composer's screening made)
	// until the next decode that does not fit. It is outside bytes.
	last cachedPhoto
	// taken counts the cards composed (release with composed set).
	taken uint64
}

// put keeps img under k unless the cache is full (see above): then img is
// only kept as the last decode when its size is at most
// maxLastPhotoBytes.
func (c *photoCache) put(k photoKey, img image.Image) {
	size := imageBytes(img)
	if size > maxCachedPhotoBytes {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.remove(func(e cachedPhoto) bool { return e.key == k })
	if c.last.key == k {
		c.last = cachedPhoto{}
	}
	if c.bytes+c.last.size+size > maxCachedPhotoBytes {
		c.dropPassedOver()
	}
	// The last decode goes in first when room was made since.
	if l := c.last; l.size > 0 && c.bytes+l.size <= maxCachedPhotoBytes {
		c.entries = append(c.entries, l)
		c.bytes += l.size
		c.last = cachedPhoto{}
	}
	e := cachedPhoto{key: k, img: img, size: size, taken: c.taken}
	if c.bytes+size > maxCachedPhotoBytes {
		c.last = cachedPhoto{}
		if size <= maxLastPhotoBytes {
			c.last = e
		}
		return
	}
	c.entries = append(c.entries, e)
	c.bytes += size
}

// remove forgets the entries (not last) that drop says.
func (c *photoCache) remove(drop func(e cachedPhoto) bool) {
	kept := c.entries[:0]
	for _, e := range c.entries {
		if drop(e) {
			c.bytes -= e.size
			continue
		}
		kept = append(kept, e)
	}
	clear(c.entries[len(kept):])
	c.entries = kept
}

// dropPassedOver drops the decodes that stayed while maxPassedOver
// cards were composed: their job left the queue unseen, or waits for
// something, and they keep the cache from the jobs behind them.
func (c *photoCache) dropPassedOver() {
	c.remove(func(e cachedPhoto) bool { return c.taken-e.taken >= maxPassedOver })
}

// get returns the photo kept under k; take also forgets it.
func (c *photoCache) get(k photoKey, take bool) (image.Image, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.last.size > 0 && c.last.key == k {
		img := c.last.img
		if take {
			c.last = cachedPhoto{}
		}
		return img, true
	}
	for i, e := range c.entries {
		if e.key != k {
			continue
		}
		if take {
			c.bytes -= e.size
			n := copy(c.entries[i:], c.entries[i+1:])
			c.entries[i+n] = cachedPhoto{}
			c.entries = c.entries[:i+n]
		}
		return e.img, true
	}
	return nil, false
}

// release forgets every decode of job; composed says its card was just
// composed (it counts for dropPassedOver).
func (c *photoCache) release(job string, composed bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if composed {
		c.taken++
	}
	c.remove(func(e cachedPhoto) bool { return e.key.job == job })
	if c.last.key.job == job {
		c.last = cachedPhoto{}
	}
}

// ReleasePhotos forgets the photos kept for the job with producer id job
// (IntakePhoto): call it when the job leaves the queue without its card
// being composed (held, refused, cancelled), so that its decode does not
// take the room of the jobs behind it. A composition releases its job's
// photos itself.
func (r *Renderer) ReleasePhotos(job string) { r.photos.release(job, false) }

// imageBytes is about the memory held by a decoded photo's pixels.
func imageBytes(img image.Image) int {
	switch m := img.(type) {
	case *image.YCbCr:
		return len(m.Y) + len(m.Cb) + len(m.Cr)
	case *image.Gray:
		return len(m.Pix)
	case *image.RGBA:
		return len(m.Pix)
	case *image.NRGBA:
		return len(m.Pix)
	}
	b := img.Bounds()
	return 4 * b.Dx() * b.Dy()
}

// DecodedPhoto is a job's photo as its intake checks decoded it.
type DecodedPhoto struct {
	// Image is the photo upright (EXIF orientation applied), reduced
	// Factor times in each direction from the origin. Shared: do not
	// modify it.
	Image image.Image
	// Factor is 1 (decoded whole) or 2 (decoded at 1/2 of its size).
	Factor int
	// Bounds are the upright photo's own bounds.
	Bounds image.Rectangle
}

// uprightConfig checks the photo's size and header as CheckPhoto does and
// returns its upright bounds, whether it is a JPEG and its EXIF
// orientation.
func (r *Renderer) uprightConfig(b []byte, name string) (bounds image.Rectangle, isJPEG bool, orientation int, err error) {
	cfg, err := photoConfig(b, name, r.opts.MaxPhotoBytes, r.opts.MaxPhotoPixels)
	if err != nil {
		return image.Rectangle{}, false, 0, err
	}
	orientation = 1
	if isJPEG = bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}); isJPEG {
		orientation = jpegOrientation(b)
	}
	w, h := cfg.Width, cfg.Height
	if orientation >= 5 { // turned a quarter: the upright photo's sides swap
		w, h = h, w
	}
	return image.Rect(0, 0, w, h), isJPEG, orientation, nil
}

// IntakePhoto decodes the photo b (file name for errors; sum its SHA-256,
// computed by the caller on b itself) of the job with producer id job for the checks made before a serial is allocated: the
// limits CheckPhoto checks, then the image data, upright. A baseline JPEG
// whose short side is at least 800 pixels is decoded at 1/2 of its size
// straight from its coefficients (package jpegscale), anything else
// whole. The decode is kept (within the cache's bound of memory) for the
// composition of the job's card, which then does not decode the
// photo again. Errors wrap ErrImageTooLarge, ErrBadImage or
// ErrTooManyPixels and start with name.
func (r *Renderer) IntakePhoto(job string, b []byte, sum [sha256.Size]byte, name string) (*DecodedPhoto, error) {
	bounds, isJPEG, o, err := r.uprightConfig(b, name)
	if err != nil {
		return nil, err
	}
	k := photoKey{job: job, sum: sum, denom: 2}
	if isJPEG && min(bounds.Dx(), bounds.Dy()) >= 2*minIntakeSide {
		if img, ok := r.photos.get(k, false); ok {
			return &DecodedPhoto{Image: img, Factor: 2, Bounds: bounds}, nil
		}
		if img, err := jpegscale.Decode(b, 2); err == nil {
			img = orient(img, o)
			r.photos.put(k, img)
			return &DecodedPhoto{Image: img, Factor: 2, Bounds: bounds}, nil
		}
		// Not one jpegscale reads, or broken: decoded whole below, and
		// the standard decoder decides.
	}
	k.denom = 1
	if img, ok := r.photos.get(k, false); ok {
		return &DecodedPhoto{Image: img, Factor: 1, Bounds: bounds}, nil
	}
	img, err := decodeLimited(b, name, r.opts.MaxPhotoBytes, r.opts.MaxPhotoPixels)
	if err != nil {
		return nil, err
	}
	r.photos.put(k, img)
	return &DecodedPhoto{Image: img, Factor: 1, Bounds: img.Bounds()}, nil
}

// CheckJobPhoto is CheckPhoto for the photo of the job with producer id
// job (sum the SHA-256 of b, computed by the caller on b): a photo IntakePhoto would decode at 1/2 of its size is decoded so
// (for about the cost of CheckPhoto's check) and kept for the photo gate
// and the composition of the job's card; any other photo is checked by
// CheckPhoto.
func (r *Renderer) CheckJobPhoto(job string, b []byte, sum [sha256.Size]byte, name string) error {
	bounds, isJPEG, _, err := r.uprightConfig(b, name)
	if err != nil {
		return err
	}
	if isJPEG && min(bounds.Dx(), bounds.Dy()) >= 2*minIntakeSide {
		_, err := r.IntakePhoto(job, b, sum, name)
		return err
	}
	return r.CheckPhoto(b, name)
}

// intakeKey is the key the intake's decode of this card's photo at 1/denom
// is kept under: the photo's SHA-256 from Data.PhotoSHA256, or computed
// (once a card) when the caller left it zero.
func (dc *DrawContext) intakeKey(denom int) photoKey {
	sum := dc.Data.PhotoSHA256
	if sum == ([sha256.Size]byte{}) {
		v, _ := dc.Cache("layout.photo/sha256", func() (any, error) {
			return sha256.Sum256(dc.Data.Photo), nil
		})
		sum = v.([sha256.Size]byte)
	}
	return photoKey{job: dc.Data.JobID, sum: sum, denom: denom}
}
