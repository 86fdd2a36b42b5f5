package magicard_test

import (
	"context"
	"fmt"
	"log"

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

	res, err := dev.Print(ctx, magicard.SampleCard(true, true))
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
