package layout

import (
	"bytes"
	"encoding/binary"
	"image"
	"image/color"
	"image/jpeg"
	"testing"
)

// exifJPEG inserts an APP1 EXIF segment with the given orientation (0 for
// none) after the SOI of a JPEG file, in byte order bo.
func exifJPEG(t testing.TB, jpg []byte, orientation uint16, bo binary.ByteOrder) []byte {
	t.Helper()
	var tiff bytes.Buffer
	if bo == binary.LittleEndian {
		tiff.WriteString("II*\x00")
	} else {
		tiff.WriteString("MM\x00*")
	}
	binary.Write(&tiff, bo, uint32(8))
	entries := []struct {
		tag, typ uint16
		count    uint32
		val      uint32
	}{{0x010F, 2, 4, 0x41424300}} // Make, ASCII inline
	if orientation != 0 {
		entries = append(entries, struct {
			tag, typ uint16
			count    uint32
			val      uint32
		}{0x0112, 3, 1, 0})
	}
	binary.Write(&tiff, bo, uint16(len(entries)))
	for _, e := range entries {
		binary.Write(&tiff, bo, e.tag)
		binary.Write(&tiff, bo, e.typ)
		binary.Write(&tiff, bo, e.count)
		if e.tag == 0x0112 {
			binary.Write(&tiff, bo, orientation)
			binary.Write(&tiff, bo, uint16(0))
		} else {
			binary.Write(&tiff, bo, e.val)
		}
	}
	binary.Write(&tiff, bo, uint32(0))
	seg := append([]byte("Exif\x00\x00"), tiff.Bytes()...)
	var out bytes.Buffer
	out.Write(jpg[:2])
	out.Write([]byte{0xFF, 0xE1})
	binary.Write(&out, binary.BigEndian, uint16(len(seg)+2))
	out.Write(seg)
	out.Write(jpg[2:])
	return out.Bytes()
}

func TestJPEGOrientation(t *testing.T) {
	base := jpegBytes(t, 16, 8)
	for _, bo := range []binary.ByteOrder{binary.LittleEndian, binary.BigEndian} {
		for o := uint16(0); o <= 9; o++ {
			want := int(o)
			if o == 0 || o == 9 {
				want = 1
			}
			if got := jpegOrientation(exifJPEG(t, base, o, bo)); got != want {
				t.Errorf("%v orientation %d: got %d, want %d", bo, o, got, want)
			}
		}
	}
	for _, b := range [][]byte{nil, {0xFF}, {0xFF, 0xD8}, []byte("\x89PNG"), {0xFF, 0xD8, 0xFF, 0xE1, 0xFF, 0xFF}} {
		if got := jpegOrientation(b); got != 1 {
			t.Errorf("jpegOrientation(% x) = %d, want 1", b, got)
		}
	}
}

// TestDecodeOrientation checks that a photo stored sideways with EXIF
// orientation 6 (rotate 90° clockwise to view) comes out upright.
func TestDecodeOrientation(t *testing.T) {
	// Stored 16 wide × 8 high: left half red, right half blue. Viewed after
	// a clockwise quarter turn: 8 wide × 16 high, top red, bottom blue.
	img := image.NewRGBA(image.Rect(0, 0, 16, 8))
	for y := 0; y < 8; y++ {
		for x := 0; x < 16; x++ {
			c := color.RGBA{255, 0, 0, 255}
			if x >= 8 {
				c = color.RGBA{0, 0, 255, 255}
			}
			img.Set(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := jpeg.Encode(&b, img, &jpeg.Options{Quality: 100}); err != nil {
		t.Fatal(err)
	}
	got, err := decodeLimited(exifJPEG(t, b.Bytes(), 6, binary.BigEndian), "p.jpg", 1<<20, 1<<20)
	if err != nil {
		t.Fatal(err)
	}
	if s := got.Bounds().Size(); s != image.Pt(8, 16) {
		t.Fatalf("size %v, want 8×16", s)
	}
	r, _, bl, _ := got.At(4, 2).RGBA()
	if r < 0xc000 || bl > 0x4000 {
		t.Errorf("top is not red: %v", got.At(4, 2))
	}
	r, _, bl, _ = got.At(4, 13).RGBA()
	if bl < 0xc000 || r > 0x4000 {
		t.Errorf("bottom is not blue: %v", got.At(4, 13))
	}
}

func FuzzJPEGOrientation(f *testing.F) {
	base := jpegBytes(f, 8, 8)
	f.Add(base)
	f.Add(exifJPEG(f, base, 6, binary.LittleEndian))
	f.Add(exifJPEG(f, base, 3, binary.BigEndian))
	f.Fuzz(func(t *testing.T, b []byte) {
		if o := jpegOrientation(b); o < 1 || o > 8 {
			t.Fatalf("orientation %d", o)
		}
	})
}

func FuzzDecodeImage(f *testing.F) {
	f.Add(jpegBytes(f, 8, 8))
	f.Add(pngBytes(f, 4, 4, color.White))
	f.Add(bombPNG(1<<20, 1<<20))
	f.Fuzz(func(t *testing.T, b []byte) {
		img, err := decodeLimited(b, "fuzz", 1<<20, 1<<16)
		if err == nil {
			if s := img.Bounds().Size(); s.X*s.Y > 1<<16 {
				t.Fatalf("decoded %v past the pixel limit", s)
			}
		}
	})
}
