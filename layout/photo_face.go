package layout

import (
	"fmt"
	"image"

	"github.com/cardd/cardd/layout/portrait"
)

// Faces returns the faces in the job's photo (best first): Data.Faces
// when the caller found them already, else found once per card with the
// renderer's detector; nil when the renderer has none.
func (dc *DrawContext) Faces() ([]portrait.Face, error) {
	if dc.Data.Faces != nil {
		return dc.Data.Faces, nil
	}
	if dc.r.opts.Faces == nil {
		return nil, nil
	}
	v, err := dc.Cache("layout.photo.faces", func() (any, error) {
		// A large JPEG is searched at 1/2 of its size, as the photo
		// gate searches it (IntakePhoto).
		if b, ok := dc.jpegBounds(); ok && min(b.Dx(), b.Dy()) >= 2*minIntakeSide {
			if small := dc.reducedAt(2); small != nil {
				faces := dc.r.opts.Faces.Detect(small)
				for i := range faces {
					faces[i] = faces[i].Scaled(2)
				}
				return faces, nil
			}
		}
		src, err := dc.Photo()
		if err != nil {
			return nil, err
		}
		return dc.r.opts.Faces.Detect(src), nil
	})
	if err != nil {
		return nil, err
	}
	return v.([]portrait.Face), nil
}

// FaceCrop returns the part of the photo (bounds b) that a w × h box with
// fit = "face" shows: placed from the best face's eyes to the token
// portrait (portrait.CropRect). ok is false when no face with its eyes was
// found, or the renderer has no face detector.
func (dc *DrawContext) FaceCrop(b image.Rectangle, w, h int) (r image.Rectangle, ok bool, err error) {
	faces, err := dc.Faces()
	if err != nil || len(faces) == 0 || !faces[0].Eyes {
		return image.Rectangle{}, false, err
	}
	r, _ = portrait.CropRect(faces[0], b, w, h)
	return r, true, nil
}

// faceScaledPhoto is scaledPhoto for fit = "face": the photo cropped by
// FaceCrop and resampled to w × h, or, without a face, cropped by the
// anchor fx, fy. Cached per card; shared: do not modify.
func (dc *DrawContext) faceScaledPhoto(w, h int, fx, fy float64, k kernel) (*image.NRGBA, error) {
	s, err := dc.faceScaledPlanes(w, h, fx, fy, k)
	if err != nil {
		return nil, err
	}
	return s.RGB(), nil
}

// faceScaledPlanes is faceScaledPhoto keeping the planes (scaledPlanes).
func (dc *DrawContext) faceScaledPlanes(w, h int, fx, fy float64, k kernel) (*scaledImage, error) {
	if w <= 0 || h <= 0 || w > 1<<14 || h > 1<<14 {
		return nil, fmt.Errorf("photo size %d × %d out of range", w, h)
	}
	// The photo's bounds: from a JPEG's header (it may never be decoded
	// whole), else from the photo decoded whole.
	b, ok := dc.jpegBounds()
	if !ok {
		src, err := dc.Photo()
		if err != nil {
			return nil, err
		}
		b = src.Bounds()
	}
	r, ok, err := dc.FaceCrop(b, w, h)
	if err != nil {
		return nil, err
	}
	if !ok {
		if dc.r.opts.Faces != nil || dc.Data.Faces != nil {
			dc.Log.Warn("no face found in the photo; cropped by the anchor instead", "photo", dc.Data.PhotoName)
		}
		return dc.scaledPlanes(w, h, fx, fy, k)
	}
	v, err := dc.Cache(fmt.Sprintf("layout.photo.face/%d/%d/%s", w, h, k.name), func() (any, error) {
		if small, d := dc.reducedFor(r, w, h, minFaceReduction); small != nil {
			r2 := image.Rect(divRound(r.Min.X, d), divRound(r.Min.Y, d), divRound(r.Max.X, d), divRound(r.Max.Y, d)).Intersect(small.Bounds())
			if !r2.Empty() {
				return resample(small, r2, w, h, k), nil
			}
		}
		src, err := dc.Photo()
		if err != nil {
			return nil, err
		}
		return resample(src, r, w, h, k), nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*scaledImage), nil
}

// minFaceReduction is reducedFor's least reduction for a crop placed from
// the eyes. Such a crop is closer to the photo's own resolution than an
// anchored one (a 1 MP portrait's face crop is about twice the 300-dpi
// box), so the half-size decode may have to be enlarged a little: up to
// 1/0.9 times. A DCT-scaled decode keeps the frequencies below its own
// Nyquist limit, so this leaves out at most the top tenth of the band — not
// seen on a dye-sublimation print, where decoding the photo whole instead
// would cost several times the rest of the photo's work.
const minFaceReduction = 0.9

// divRound is a/d rounded to the nearest integer (a ≥ 0, d > 0).
func divRound(a, d int) int { return (2*a + d) / (2 * d) }

// DecodePhoto decodes a JPEG or PNG photo as composition does: its byte
// size and (from the header, before decoding) its pixel count checked
// against the limits, EXIF orientation applied. name goes into errors.
func DecodePhoto(b []byte, name string, maxBytes, maxPixels int64) (image.Image, error) {
	return decodeLimited(b, name, maxBytes, maxPixels)
}

// PhotoCrop returns what the first photo element of t shows of the photo
// in d on a printer of dpi dots per inch: the photo cropped (from the eyes
// with fit = "face", else by the anchor) and resampled to the element's
// box, before its colour adjustments; and the element.
func (r *Renderer) PhotoCrop(t *Template, d *Data, dpi int) (*image.NRGBA, *Photo, error) {
	for _, st := range t.Sides() {
		for _, e := range st.Elements {
			p, ok := e.(*Photo)
			if !ok {
				continue
			}
			dc := &DrawContext{Template: t, Side: st.Name, Data: d, r: r, dpmm: float64(dpi) / 25.4,
				Log: r.log.With("template", t.Name, "job", d.JobID, "side", st.Name), card: &renderCard{cache: map[string]any{}}}
			b := dc.Rect(p.Box())
			var img *image.NRGBA
			var err error
			if p.Fit == "face" {
				img, err = dc.faceScaledPhoto(b.Dx(), b.Dy(), p.fx, p.fy, p.filter)
			} else {
				img, err = dc.scaledPhoto(b.Dx(), b.Dy(), p.fx, p.fy, p.filter)
			}
			return img, p, err
		}
	}
	return nil, nil, fmt.Errorf("template %s: no photo element", t.Name)
}
