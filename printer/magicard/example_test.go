package magicard_test

import (
	"context"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"log"

	"github.com/cardd/cardd/printer"
	"github.com/cardd/cardd/printer/emulator"
	"github.com/cardd/cardd/printer/magicard"
)

// Print one duplex card with a magnetic stripe on an emulated Rio Pro. With
// a real printer, the transport comes from printer/usb instead.
func Example() {
	lang, err := emulator.LanguageByName("magicard")
	if err != nil {
		log.Fatal(err)
	}
	emu, err := emulator.New(lang, &emulator.Options{Speed: 1000})
	if err != nil {
		log.Fatal(err)
	}
	t := emu.Transport()
	defer t.Close()

	opts := magicard.DefaultOpts
	opts.PollInterval = 10e6 // 10 ms: the emulator is fast
	dev := magicard.New(t, &opts, nil)
	ctx := context.Background()

	info, err := dev.Identify(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(info.Vendor, info.Model, "duplex:", info.Caps.Duplex)

	// A card: a light blue front with a black bar, a K-only back, and a
	// track 2 on the magnetic stripe.
	g := printer.CR80(300)
	front := image.NewRGBA(g.Bounds())
	draw.Draw(front, front.Rect, &image.Uniform{color.RGBA{200, 220, 255, 255}}, image.Point{}, draw.Src)
	k := printer.NewMono(g.Bounds())
	k.Fill(image.Rect(50, 500, 950, 560), true)
	back := printer.NewMono(g.Bounds())
	back.Fill(image.Rect(50, 50, 950, 80), true)
	card := &printer.Card{
		Geometry: g,
		Front:    printer.Side{Color: front, K: k},
		Back:     &printer.Side{K: back},
		Mag:      printer.MagTracks{"", ";1234567890=2812?", ""},
	}

	res, err := dev.Print(ctx, card)
	if err != nil {
		log.Fatal(err)
	}
	st, err := dev.Status(ctx)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("outcome:", res.Outcome, "cards:", st.Consumables.CardsPrinted)
	// Output:
	// Magicard Rio Pro 360 duplex: true
	// outcome: printed cards: 1
}
