package layout

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"math"
	"strings"

	"github.com/disintegration/imaging"

	"github.com/cardd/cardd/internal/jpegscale"
	"github.com/cardd/cardd/printer"
)

// Errors of image decoding, wrapped with the file name.
var (
	// ErrNoPhoto means the template draws a photo but the job has none.
	ErrNoPhoto = errors.New("job has no photo")
	// ErrImageTooLarge means the file is larger than allowed.
	ErrImageTooLarge = errors.New("image file too large")
	// ErrTooManyPixels means the image's declared size exceeds the pixel
	// limit (a decompression bomb is refused before it is decoded).
	ErrTooManyPixels = errors.New("image has too many pixels")
	// ErrBadImage means the file is not a readable JPEG or PNG.
	ErrBadImage = errors.New("not a readable JPEG or PNG image")
)

// decodeLimited decodes a JPEG or PNG file after checking its size and,
// from its header, its pixel count. JPEG EXIF orientation is applied.
func decodeLimited(b []byte, name string, maxBytes, maxPixels int64) (image.Image, error) {
	if _, err := photoConfig(b, name, maxBytes, maxPixels); err != nil {
		return nil, err
	}
	var img image.Image
	var err error
	if b[0] == 0xFF {
		img, err = jpeg.Decode(bytes.NewReader(b))
	} else {
		img, err = png.Decode(bytes.NewReader(b))
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w: %w", name, ErrBadImage, err)
	}
	if b[0] == 0xFF {
		img = orient(img, jpegOrientation(b))
	}
	return img, nil
}

// orient applies an EXIF orientation so that the image is upright.
func orient(img image.Image, o int) image.Image {
	switch o {
	case 2:
		return imaging.FlipH(img)
	case 3:
		return imaging.Rotate180(img)
	case 4:
		return imaging.FlipV(img)
	case 5:
		return imaging.Transpose(img)
	case 6:
		return imaging.Rotate270(img) // 90° clockwise
	case 7:
		return imaging.Transverse(img)
	case 8:
		return imaging.Rotate90(img) // 90° counter-clockwise
	}
	return img
}

// CheckPhoto checks a job's photo the way rendering will: size within
// MaxPhotoBytes, a JPEG or PNG whose declared width × height (from its
// header, before anything is decoded) is within MaxPhotoPixels, and whose
// image data decodes. An intake screener calls it so that a photo the
// renderer would refuse (a decompression bomb, a file cut short) fails the
// job before a serial is allocated. A baseline JPEG is decoded at 1/8 of
// its size, which reads all of its data at a fraction of a whole decode;
// anything else is decoded whole. Errors wrap ErrImageTooLarge,
// ErrBadImage or ErrTooManyPixels and start with name.
func (r *Renderer) CheckPhoto(b []byte, name string) error {
	if _, err := photoConfig(b, name, r.opts.MaxPhotoBytes, r.opts.MaxPhotoPixels); err != nil {
		return err
	}
	if b[0] == 0xFF {
		if _, err := jpegscale.Decode(b, 8); err == nil {
			return nil
		}
		// Not one jpegscale reads (progressive, arithmetic …), or
		// broken: the standard decoder decides.
	}
	_, err := decodeLimited(b, name, r.opts.MaxPhotoBytes, r.opts.MaxPhotoPixels)
	return err
}

// photoConfig reads and checks a photo's header (see CheckPhoto).
func photoConfig(b []byte, name string, maxBytes, maxPixels int64) (image.Config, error) {
	if int64(len(b)) > maxBytes {
		return image.Config{}, fmt.Errorf("%s: %w: %d bytes, limit %d", name, ErrImageTooLarge, len(b), maxBytes)
	}
	var (
		cfg image.Config
		err error
	)
	switch {
	case bytes.HasPrefix(b, []byte{0xFF, 0xD8, 0xFF}):
		cfg, err = jpeg.DecodeConfig(bytes.NewReader(b))
	case bytes.HasPrefix(b, []byte("\x89PNG\r\n\x1a\n")):
		cfg, err = png.DecodeConfig(bytes.NewReader(b))
	default:
		return image.Config{}, fmt.Errorf("%s: %w: unknown format", name, ErrBadImage)
	}
	if err != nil {
		return image.Config{}, fmt.Errorf("%s: %w: %w", name, ErrBadImage, err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxPixels {
		return image.Config{}, fmt.Errorf("%s: %w: %d × %d, limit %d pixels", name, ErrTooManyPixels, cfg.Width, cfg.Height, maxPixels)
	}
	return cfg, nil
}

// Photo returns the job's photo decoded and upright, checked against the
// renderer's byte and pixel limits. It is decoded once per card and
// shared: do not modify it.
func (dc *DrawContext) Photo() (image.Image, error) {
	v, err := dc.Cache("layout.photo", func() (any, error) {
		if len(dc.Data.Photo) == 0 {
			return nil, ErrNoPhoto
		}
		name := dc.Data.PhotoName
		if name == "" {
			name = "photo"
		}
		if img, ok := dc.r.photos.get(dc.intakeKey(1), true); ok {
			return img, nil // the job's intake decoded it whole
		}
		return decodeLimited(dc.Data.Photo, name, dc.r.opts.MaxPhotoBytes, dc.r.opts.MaxPhotoPixels)
	})
	if err != nil {
		return nil, err
	}
	return v.(image.Image), nil
}

// ScaledPhoto returns the job's photo cropped to the aspect w:h (the kept
// part placed by fx, fy: 0 = left/top, 0.5 = centre, 1 = right/bottom) and
// resampled to w × h pixels with the fast fixed-point Catmull-Rom
// resampler, which reads JPEG planes directly (far cheaper than
// imaging.Fill on the full photo). Results are cached per card by size and
// anchor and shared: do not modify them.
func (dc *DrawContext) ScaledPhoto(w, h int, fx, fy float64) (*image.NRGBA, error) {
	return dc.scaledPhoto(w, h, fx, fy, kernelCatmullRom)
}

func (dc *DrawContext) scaledPhoto(w, h int, fx, fy float64, k kernel) (*image.NRGBA, error) {
	s, err := dc.scaledPlanes(w, h, fx, fy, k)
	if err != nil {
		return nil, err
	}
	return s.RGB(), nil
}

// scaledImage is the photo resampled to an element's size: as RGB, and
// for a JPEG photo also as the Y, Cb and Cr planes the RGB is converted
// from (the ghost takes the luma, the sharpened portrait sharpens it).
type scaledImage struct {
	w, h      int
	y, cb, cr []uint8 // nil for a photo that is not YCbCr
	rgb       *image.NRGBA
}

// RGB returns the image as RGB, converting it on first use.
func (s *scaledImage) RGB() *image.NRGBA {
	if s.rgb == nil {
		s.rgb = planesToNRGBA(s.y, s.cb, s.cr, s.w, s.h)
	}
	return s.rgb
}

func resample(src image.Image, r image.Rectangle, w, h int, k kernel) *scaledImage {
	if m, ok := src.(*image.YCbCr); ok {
		y, cb, cr, _, _ := resizeYCbCrPlanes(m, r, w, h, k)
		return &scaledImage{w: w, h: h, y: y, cb: cb, cr: cr}
	}
	return &scaledImage{w: w, h: h, rgb: resizeCrop(src, r, w, h, k)}
}

// scaledPlanes is scaledPhoto keeping the planes. Cached per card;
// shared: do not modify.
func (dc *DrawContext) scaledPlanes(w, h int, fx, fy float64, k kernel) (*scaledImage, error) {
	if w <= 0 || h <= 0 || w > 1<<14 || h > 1<<14 {
		return nil, fmt.Errorf("photo size %d × %d out of range", w, h)
	}
	v, err := dc.Cache(fmt.Sprintf("layout.photo/%d/%d/%g/%g/%s", w, h, fx, fy, k.name), func() (any, error) {
		if small := dc.reducedPhoto(w, h, fx, fy); small != nil {
			return resample(small, cropRect(small.Bounds(), w, h, fx, fy), w, h, k), nil
		}
		src, err := dc.Photo()
		if err != nil {
			return nil, err
		}
		r := cropRect(src.Bounds(), w, h, fx, fy)
		// A large reduction (the ghost, the face thumbnail) starts from a
		// half-size copy of the photo made once per card (halfYCbCr), not
		// from the whole photo each time; the portrait, a reduction of
		// less than 4, keeps the full photo's chroma detail.
		if y, ok := src.(*image.YCbCr); ok && y.Rect.Min == (image.Point{}) && r.Dx() >= 4*w && r.Dy() >= 4*h {
			hv, err := dc.Cache("layout.photo/half", func() (any, error) { return halfYCbCr(y), nil })
			if err != nil {
				return nil, err
			}
			r2 := image.Rect(r.Min.X/2, r.Min.Y/2, r.Max.X/2, r.Max.Y/2)
			return resample(hv.(*image.YCbCr), r2, w, h, k), nil
		}
		return resample(src, r, w, h, k), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*scaledImage), nil
}

// sharpened returns s sharpened with sigma: on the luma plane when s has
// planes, else on R, G and B. Cached per card.
func (dc *DrawContext) sharpened(s *scaledImage, key string, sigma float64) *image.NRGBA {
	v, _ := dc.Cache(fmt.Sprintf("%s/sharpen/%g", key, sigma), func() (any, error) {
		if s.y == nil {
			return sharpen(s.RGB(), sigma), nil
		}
		return sharpenPlanesToNRGBA(s.y, s.cb, s.cr, s.w, s.h, sigma), nil
	})
	return v.(*image.NRGBA)
}

// notePortrait records the card's first resampled portrait (before its
// colour adjustments and sharpening) for the ghost images.
func (dc *DrawContext) notePortrait(s *scaledImage) {
	if _, ok := dc.card.cache[portraitKey]; !ok {
		dc.card.cache[portraitKey] = s
	}
}

const portraitKey = "layout.portrait"

// ghostSource returns the picture a ghost image of w × h dots is made
// from: the card's portrait as already resampled for its photo element,
// cropped to the ghost's aspect about its centre and reduced to w × h in
// grey (a small copy of what is printed, and a fraction of the cost of
// resampling the full photo again; the ghost uses only luma, taken from
// the portrait's Y plane when it has one); or, when no photo element drew
// a portrait at least that large before, the photo itself cropped about
// its centre. Cached per card; shared: do not modify.
func (dc *DrawContext) ghostSource(w, h int) (*image.NRGBA, error) {
	v, ok := dc.card.cache[portraitKey]
	if !ok {
		return dc.ScaledPhoto(w, h, .5, .5)
	}
	p := v.(*scaledImage)
	if p.w < w || p.h < h {
		return dc.ScaledPhoto(w, h, .5, .5)
	}
	g, err := dc.Cache(fmt.Sprintf("layout.ghost.src/%d/%d", w, h), func() (any, error) {
		r := cropRect(image.Rect(0, 0, p.w, p.h), w, h, .5, .5)
		if p.y == nil {
			return lumaReduce(p.RGB(), r, w, h), nil
		}
		return greyReduce(p.y[r.Min.Y*p.w+r.Min.X:], p.w, r.Dx(), r.Dy(), w, h), nil
	})
	if err != nil {
		return nil, err
	}
	return g.(*image.NRGBA), nil
}

// minKernelReduction is the least reduction left to the resampling kernel
// when the photo is first reduced another way (decoded at a fraction of
// its size, or averaged over blocks): the kernel's own low-pass then
// shapes the result.
const minKernelReduction = 1.4

// reducedPhoto returns the job's JPEG photo, upright, decoded at 1/2, 1/4
// or 1/8 of its size (package jpegscale) when the crop of w × h pixels
// placed by fx, fy still has at least minKernelReduction times the pixels
// it needs at that size; nil when it does not, when the photo is already
// decoded whole (a face search did that), or when jpegscale cannot decode
// it (the caller then decodes it with image/jpeg, which reports any
// error). The byte and pixel limits are checked as for Photo. Cached per
// card by scale; shared: do not modify.
func (dc *DrawContext) reducedPhoto(w, h int, fx, fy float64) image.Image {
	b, ok := dc.jpegBounds()
	if !ok {
		return nil
	}
	small, _ := dc.reducedFor(cropRect(b, w, h, fx, fy), w, h, minKernelReduction)
	return small
}

// jpegInfo is what a JPEG's header says of the upright photo.
type jpegInfo struct {
	bounds      image.Rectangle
	orientation int
}

// jpegHeader returns what the header of the job's photo says when it is a
// JPEG within the limits. Cached per card.
func (dc *DrawContext) jpegHeader() (jpegInfo, bool) {
	v, err := dc.Cache("layout.photo/jpeg-header", func() (any, error) {
		b, isJPEG, o, err := dc.r.uprightConfig(dc.Data.Photo, "photo")
		if err != nil || !isJPEG {
			return nil, errors.New("not a JPEG within the limits")
		}
		return jpegInfo{b, o}, nil
	})
	if err != nil {
		return jpegInfo{}, false
	}
	return v.(jpegInfo), true
}

// jpegBounds returns the upright bounds of the job's photo when it is a
// JPEG within the limits that is not decoded whole yet.
func (dc *DrawContext) jpegBounds() (image.Rectangle, bool) {
	if _, whole := dc.card.cache["layout.photo"]; whole {
		return image.Rectangle{}, false
	}
	info, ok := dc.jpegHeader()
	return info.bounds, ok
}

// reducedFor returns the job's JPEG photo (jpegBounds), upright, decoded
// at 1/2, 1/4 or 1/8 of its size (package jpegscale) when the part r of
// the photo, shown in w × h pixels, still has at least minReduction times
// the pixels it needs at that size, and the reduction; nil when it does
// not, when the photo is already decoded whole (a face search did that),
// or when jpegscale cannot decode it (the caller then decodes it with
// image/jpeg, which reports any error). The intake's decode of the job's
// photo (IntakePhoto) is taken when it has that size. Cached per card by
// scale; shared: do not modify.
func (dc *DrawContext) reducedFor(r image.Rectangle, w, h int, minReduction float64) (image.Image, int) {
	if _, ok := dc.jpegBounds(); !ok {
		return nil, 0
	}
	ratio := math.Min(float64(r.Dx())/float64(w), float64(r.Dy())/float64(h))
	denom := 0
	for _, d := range []int{8, 4, 2} {
		if ratio/float64(d) >= minReduction {
			denom = d
			break
		}
	}
	if denom == 0 {
		return nil, 0
	}
	if img := dc.reducedAt(denom); img != nil {
		return img, denom
	}
	return nil, 0
}

// reducedAt is the job's JPEG photo (jpegHeader), upright, decoded at
// 1/denom; nil when jpegscale cannot decode it.
func (dc *DrawContext) reducedAt(denom int) image.Image {
	info, ok := dc.jpegHeader()
	if !ok {
		return nil
	}
	v, err := dc.Cache(fmt.Sprintf("layout.photo/1:%d", denom), func() (any, error) {
		if img, ok := dc.r.photos.get(dc.intakeKey(denom), true); ok {
			return img, nil // the job's intake decoded it so
		}
		img, err := jpegscale.Decode(dc.Data.Photo, denom)
		if err != nil {
			return nil, err
		}
		return orient(img, info.orientation), nil
	})
	if err != nil {
		return nil
	}
	return v.(image.Image)
}

// Photo draws the holder's portrait, cropped to the box's aspect and
// resized to the box at the printer's resolution.
type Photo struct {
	Base
	// Anchor is the part of the photo kept when cropping to the box's
	// aspect: center (default), top, bottom, left, right, top-left,
	// top-right, bottom-left, bottom-right.
	Anchor string `toml:"anchor"`
	// Filter is the resampling filter: catmullrom (default; bicubic,
	// sharp), lanczos (a little sharper, half as fast) or linear.
	Filter string `toml:"filter"`
	// Greyscale turns the photo grey.
	Greyscale bool `toml:"greyscale"`
	// Contrast changes contrast by a percentage, -100 to 100.
	Contrast float64 `toml:"contrast"`
	// Sharpen is the sigma of an unsharp pass in output dots; 0 for none.
	Sharpen float64 `toml:"sharpen"`
	// Optional leaves the box empty when the job has no photo instead of
	// failing.
	Optional bool `toml:"optional"`
	// Threshold, on a 1-bit panel, thresholds the photo instead of
	// dithering it.
	Threshold bool `toml:"threshold"`
	// Fit is how the photo fills the box: "fill" (default) crops it to
	// the box's aspect by Anchor; "face" places the crop from the eyes to
	// the token-portrait geometry (see FaceCrop), falling back to Anchor
	// when no face is found or the station has no face detection.
	Fit string `toml:"fit"`

	fx, fy float64
	filter kernel
}

// needsPhoto: see Template.NeedsPhoto.
func (p *Photo) needsPhoto() bool { return !p.Optional }

// Init checks the photo's keys.
func (p *Photo) Init(ic *InitContext) error {
	if p.Box().Empty() {
		return fieldErr("w", errors.New("a photo needs a box: w and h in mm"))
	}
	anchors := map[string][2]float64{
		"": {.5, .5}, "center": {.5, .5}, "top": {.5, 0}, "bottom": {.5, 1}, "left": {0, .5}, "right": {1, .5},
		"top-left": {0, 0}, "top-right": {1, 0}, "bottom-left": {0, 1}, "bottom-right": {1, 1},
	}
	a, ok := anchors[p.Anchor]
	if !ok {
		return fieldErr("anchor", fmt.Errorf("%q: want center, top, bottom, left, right or a corner such as top-left", clip(p.Anchor)))
	}
	p.fx, p.fy = a[0], a[1]
	switch strings.ToLower(p.Filter) {
	case "lanczos":
		p.filter = kernelLanczos
	case "", "catmullrom":
		p.filter = kernelCatmullRom
	case "linear":
		p.filter = kernelLinear
	default:
		return fieldErr("filter", fmt.Errorf("%q: want lanczos, catmullrom or linear", clip(p.Filter)))
	}
	if p.Fit != "" && p.Fit != "fill" && p.Fit != "face" {
		return fieldErr("fit", fmt.Errorf("%q: want fill or face", clip(p.Fit)))
	}
	if p.Contrast < -100 || p.Contrast > 100 {
		return fieldErr("contrast", fmt.Errorf("%v: want -100 to 100", p.Contrast))
	}
	if p.Sharpen < 0 || p.Sharpen > 10 {
		return fieldErr("sharpen", fmt.Errorf("%v: want 0 to 10", p.Sharpen))
	}
	return nil
}

// Draw crops, resizes and draws the photo.
func (p *Photo) Draw(ctx context.Context, dc *DrawContext) error {
	r := dc.Rect(p.Box()).Intersect(image.Rect(-1<<14, -1<<14, 1<<14, 1<<14))
	if r.Empty() {
		return nil
	}
	var s *scaledImage
	var err error
	if p.Fit == "face" {
		s, err = dc.faceScaledPlanes(r.Dx(), r.Dy(), p.fx, p.fy, p.filter)
	} else {
		s, err = dc.scaledPlanes(r.Dx(), r.Dy(), p.fx, p.fy, p.filter)
	}
	if errors.Is(err, ErrNoPhoto) && p.Optional {
		return nil
	}
	if err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	dc.notePortrait(s)
	var img *image.NRGBA
	if p.Sharpen > 0 && !p.Greyscale && p.Contrast == 0 {
		// Only sharpening: on the luma plane when there is one.
		img = dc.sharpened(s, fmt.Sprintf("layout.photo/%v/%g/%g/%s/%s", r, p.fx, p.fy, p.filter.name, p.Fit), p.Sharpen)
	} else {
		img = s.RGB() // shared: the adjustments below return new images
		if p.Greyscale {
			img = imaging.Grayscale(img)
		}
		if p.Contrast != 0 {
			img = imaging.AdjustContrast(img, p.Contrast)
		}
		if p.Sharpen > 0 {
			img = sharpen(img, p.Sharpen)
		}
	}
	dc.DrawImage(p.Panel, img, r.Min, p.Panel != printer.PanelColor && !p.Threshold)
	return nil
}

// cropRect returns the largest rectangle of b with the aspect w:h, placed
// by the anchor fractions fx, fy (0 = left/top, 1 = right/bottom).
func cropRect(b image.Rectangle, w, h int, fx, fy float64) image.Rectangle {
	sw, sh := b.Dx(), b.Dy()
	cw, ch := sw, sh
	if sw*h > sh*w { // too wide
		cw = int(math.Round(float64(sh) * float64(w) / float64(h)))
	} else {
		ch = int(math.Round(float64(sw) * float64(h) / float64(w)))
	}
	cw, ch = max(cw, 1), max(ch, 1)
	x0 := b.Min.X + int(math.Round(float64(sw-cw)*fx))
	y0 := b.Min.Y + int(math.Round(float64(sh-ch)*fy))
	return image.Rect(x0, y0, x0+cw, y0+ch)
}

// cropToAspect returns the part of src that cropRect selects.
func cropToAspect(src image.Image, w, h int, fx, fy float64) image.Image {
	r := cropRect(src.Bounds(), w, h, fx, fy)
	if s, ok := src.(interface {
		SubImage(image.Rectangle) image.Image
	}); ok {
		return s.SubImage(r)
	}
	return imaging.Crop(src, r)
}
