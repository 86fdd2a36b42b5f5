package layout

import (
	"image"
	"testing"

	"golang.org/x/image/font"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
)

// TestDrawStringAlphaMatchesDrawer: the text mask is font.Drawer's, byte
// for byte, overlapping glyphs and kerning included.
func TestDrawStringAlphaMatchesDrawer(t *testing.T) {
	f, err := opentype.Parse(builtinFont("go"))
	if err != nil {
		t.Fatal(err)
	}
	for _, size := range []float64{4.5, 8.5, 14} {
		face, err := opentype.NewFace(f, &opentype.FaceOptions{Size: size, DPI: 300, Hinting: font.HintingFull})
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range []string{"AVAWAY To Wo", "Ärger · Œuvre ﬁ 0123", "ff//\\\\||"} {
			b, _ := font.BoundString(face, s)
			ink := image.Rect(b.Min.X.Floor()-3, b.Min.Y.Floor()-3, b.Max.X.Ceil()+3, b.Max.Y.Ceil()+3).Add(image.Pt(7, 40))
			got, want := image.NewAlpha(ink), image.NewAlpha(ink)
			for i := range got.Pix {
				got.Pix[i] = uint8(i * 37)
			}
			copy(want.Pix, got.Pix)
			drawStringAlpha(got, face, fixed.P(7, 40), s)
			(&font.Drawer{Dst: want, Src: image.Opaque, Face: face, Dot: fixed.P(7, 40)}).DrawString(s)
			if string(got.Pix) != string(want.Pix) {
				t.Errorf("size %v %q: mask differs from font.Drawer's", size, s)
			}
		}
	}
}
