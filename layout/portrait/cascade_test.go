//go:build !race

// The comparison runs on one goroutine (the race detector has nothing to
// find in it) and costs ten times as much under -race: it runs without.

package portrait

import (
	"fmt"
	"image"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"

	pigo "github.com/esimov/pigo/core"

	"github.com/cardd/cardd/internal/cascades"
	"github.com/cardd/cardd/internal/skimage"
)

// TestCascadeAsPigo: the face cascade as evaluated here finds exactly the
// windows pigo's RunCascade finds, in its order and with its scores,
// upright and turned: the coarse pass's grid on grey copies of the real
// photographs, of the cases derived from them and of noise (windows at
// the edges included), and dense grids around the faces, where many
// windows go through the whole cascade.
func TestCascadeAsPigo(t *testing.T) {
	d := detector(t)
	if d.cascade == nil {
		t.Fatal("the face cascade is left to pigo")
	}
	data, err := os.ReadFile(filepath.Join(cascades.Dir(t), FaceCascade))
	if err != nil {
		t.Fatal(err)
	}
	pg, err := pigo.NewPigo().Unpack(data)
	if err != nil {
		t.Fatal(err)
	}
	type named struct {
		name    string
		g       grey
		upright bool // only upright
	}
	var imgs []named
	for _, name := range skimage.Images {
		img := skimage.Load(t, name)
		b := img.Bounds()
		for _, side := range []int{detectSide, 120} {
			f := max(1, min(b.Dx(), b.Dy())/side)
			imgs = append(imgs, named{fmt.Sprintf("%s/%d", name, f), greyBox(img, b, f), side != detectSide})
		}
	}
	for _, c := range derived(t) {
		b := c.img.Bounds()
		imgs = append(imgs, named{c.name, greyBox(c.img, b, max(1, min(b.Dx(), b.Dy())/detectSide)), false})
	}
	rng := rand.New(rand.NewPCG(1, 2))
	noise := grey{pix: make([]uint8, 150*110), w: 150, h: 110}
	for i := range noise.pix {
		noise.pix[i] = uint8(rng.IntN(256))
	}
	imgs = append(imgs, named{"noise", noise, false})

	windows, compared := 0, 0
	check := func(name string, g grey, a, minSize, shift, scale float64) []pigo.Detection {
		short := min(g.w, g.h)
		cp := pigo.CascadeParams{
			MinSize: max(20, int(float64(short)*minSize)), MaxSize: short,
			ShiftFactor: shift, ScaleFactor: scale,
			ImageParams: pigo.ImageParams{Pixels: g.pix, Rows: g.h, Cols: g.w, Dim: g.w},
		}
		want := pg.RunCascade(cp, a)
		got := d.runCascade(cp, a)
		if !slices.Equal(got, want) {
			t.Errorf("%s, angle %v, %+v: %d windows, pigo %d", name, a, cp, len(got), len(want))
			for i := range min(len(got), len(want)) {
				if got[i] != want[i] {
					t.Errorf("first difference at %d: %+v, pigo %+v", i, got[i], want[i])
					break
				}
			}
		}
		windows += len(want)
		compared++
		return want
	}
	for _, im := range imgs {
		for _, a := range []float64{0, 1.0 / 32, 31.0 / 32} {
			if a != 0 && im.upright {
				continue
			}
			g := im.g
			if a != 0 {
				g = g.square()
			}
			// The coarse pass; around what it finds (a little larger
			// than the fine pass's region), a dense grid.
			for _, c := range pg.ClusterDetections(check(im.name, g, a, minFace, shiftFactor, scaleFactor), clusterIoU) {
				r := image.Rect(c.Col-c.Scale, c.Row-c.Scale, c.Col+c.Scale, c.Row+c.Scale).Intersect(image.Rect(0, 0, g.w, g.h))
				sub := g.crop(r)
				if a != 0 {
					sub = sub.square()
				}
				check(fmt.Sprintf("%s around %+v", im.name, c), sub, a, 0.4, 0.04, 1.08)
			}
		}
	}
	if windows < 1000 {
		t.Errorf("only %d windows found in all: the comparison proves little", windows)
	}
	t.Logf("%d searches, %d windows found", compared, windows)
}
