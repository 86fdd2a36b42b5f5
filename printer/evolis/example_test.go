package evolis_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"time"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/evolis"
)

// Example prints a duplex card on the emulated Evolis printer (a real one
// would come from printer/usb or printer/tcp) and reads its status.
func Example() {
	lang, _ := emulator.LanguageByName("evolis")
	emu, _ := emulator.New(lang, &emulator.Options{Clock: emulator.NewFakeClock(time.Unix(0, 0))})
	tr := emu.Transport()
	defer tr.Close()

	opts := evolis.DefaultOpts()
	opts.Compress = true
	dev := evolis.New(tr, &opts, nil)

	g := printer.CR80(300)
	front := image.NewRGBA(g.Bounds())
	draw.Draw(front, front.Rect, image.NewUniform(color.RGBA{0, 90, 160, 255}), image.Point{}, draw.Src)
	text := printer.NewMono(g.Bounds())
	text.Fill(image.Rect(40, 500, 600, 540), true)
	back := printer.NewMono(g.Bounds())
	back.Fill(image.Rect(40, 40, 300, 60), true)
	card := &printer.Card{
		Geometry: g,
		Front:    printer.Side{Color: front, K: text},
		Back:     &printer.Side{K: back},
		Mag:      printer.MagTracks{"", ";0123456789?", ""},
	}

	res, err := dev.Print(context.Background(), card)
	if err != nil {
		fmt.Println("print failed:", err)
		return
	}
	fmt.Println("outcome:", res.Outcome)
	st, _ := dev.Status(context.Background())
	fmt.Println("state:", st.State, "panels printed:", st.Consumables.PanelsPrinted)
	// Output:
	// outcome: printed
	// state: idle panels printed: 5
}
