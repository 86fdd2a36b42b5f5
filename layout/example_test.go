package layout_test

import (
	"context"
	"fmt"
	"time"

	"github.com/cardd/cardd/layout"
	"github.com/cardd/cardd/printer"
)

func ExampleRenderer_Render() {
	src := `
name = "badge"

[front]
overlay = true

[[front.element]]
kind = "background"
gradient = { from = "#ffffff", to = "#cfe0ff", angle = 90 }

[[front.element]]
kind = "text"
name = "surname"
panel = "k"
text = "{{.surname | upper}}"
font = "go-bold"
size = 12
x = 5.0
y = 5.0
w = 75.0

[[front.element]]
kind = "text"
name = "expiry"
text = "Valid until {{.Expires | date \"02 Jan 2006\"}}"
x = 5.0
y = 15.0

[[front.element]]
kind = "barcode"
symbology = "qr"
data = "{{.Serial}}"
x = 60.0
y = 25.0

[[front.element]]
kind = "overlay_mask"
region = "chip"
`
	t, err := layout.ParseTemplate("badge.toml", []byte(src), nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("fields:", t.Fields())
	d := &layout.Data{
		JobID:    "CASE-1",
		Fields:   map[string]string{"surname": "Ødegård"},
		Serial:   "EX00000042",
		CardType: layout.CardTemporary,
		IssuedAt: time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC),
		Expires:  time.Date(2026, 12, 27, 0, 0, 0, 0, time.UTC),
	}
	card, err := layout.NewRenderer(nil).Render(context.Background(), t, d, printer.CR80(300))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("raster:", card.Geometry.Width, "x", card.Geometry.Height, "at", card.Geometry.DPI, "dpi")
	fmt.Println("front panels:", card.Front.Panels(), "duplex:", card.Duplex())

	// A job without the field fails with an error naming the element.
	_, err = layout.NewRenderer(nil).Render(context.Background(), t, &layout.Data{JobID: "CASE-2"}, printer.CR80(300))
	fmt.Println(err)
	// Output:
	// fields: [Expires Serial surname]
	// raster: 1016 x 648 at 300 dpi
	// front panels: [color k overlay] duplex: false
	// template badge.toml: job CASE-2: front element 2 (text "surname"): key "text": field "surname": missing field in job
}
