package ipp

import (
	"fmt"
	"image"
	"slices"
	"strings"
	"testing"

	"github.com/cardd/cardd/printer"
)

// testPPD is a PPD in the shape Gutenprint writes for its Magicard models
// (written for this test): options with choices, defaults, comments, a
// closed group and lines the reader must skip.
const testPPD = `*PPD-Adobe: "4.3"
*% a comment
*FormatVersion: "4.3"
*ModelName: "Magicard Tango 2E"
*OpenUI *Duplex/2-Sided Printing: PickOne
*DefaultDuplex: None
*Duplex None/Off: "<</Duplex false>>setpagedevice"
*Duplex DuplexNoTumble/Long Edge (Standard): "<</Duplex true/Tumble false>>setpagedevice"
*Duplex DuplexTumble/Short Edge (Flip): "<</Duplex true/Tumble true>>setpagedevice"
*CloseUI: *Duplex
*OpenGroup: C0/Features
*OpenUI *StpLaminate/Overcoat Pattern: PickOne
*OrderDependency: 10 AnySetup *StpLaminate
*DefaultStpLaminate: Off
*StpLaminate Off/Off: ""
*StpLaminate On/On: ""
*CloseUI: *StpLaminate
*OpenUI *StpBlackType/Black Type: PickOne
*DefaultStpBlackType: Composite
*StpBlackType Composite/Composite (CMY): ""
*StpBlackType Resin/Resin Black: ""
*CloseUI: *StpBlackType
*CloseGroup: C0
*StpBlackType Outside/Not in an OpenUI: ""
`

func TestParsePPD(t *testing.T) {
	t.Parallel()
	o, err := parsePPD(strings.NewReader(testPPD))
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string][]string{
		"Duplex":       {"None", "DuplexNoTumble", "DuplexTumble"},
		"StpLaminate":  {"Off", "On"},
		"StpBlackType": {"Composite", "Resin"},
	} {
		if got := o.choices[name]; !slices.Equal(got, want) {
			t.Errorf("%s choices %q, want %q", name, got, want)
		}
	}
	if len(o.choices) != 3 || o.defaults["StpBlackType"] != "Composite" || o.defaults["Duplex"] != "None" {
		t.Errorf("options %v, defaults %v", o.choices, o.defaults)
	}
	for _, bad := range []string{"", "hello\n*OpenUI *X/Y: PickOne\n", "*PPD-Adobe: \"4.3\"\n" + strings.Repeat("*% padding padding padding\n", maxPPD/27+1)} {
		if _, err := parsePPD(strings.NewReader(bad)); err == nil {
			t.Errorf("parsePPD(%.20q…) took it", bad)
		}
	}
}

// TestCardOptions: the options follow the card's panels, and only those
// the queue offers with the needed choice go.
func TestCardOptions(t *testing.T) {
	t.Parallel()
	full, err := parsePPD(strings.NewReader(testPPD))
	if err != nil {
		t.Fatal(err)
	}
	noResin := &ppdOptions{choices: map[string][]string{"StpBlackType": {"Composite"}, "StpLaminate": {"Off", "On"}}}
	g := printer.CR80(300)
	mono := func() *printer.Mono { return printer.NewMono(g.Bounds()) }
	colour := printer.Side{Color: image.NewRGBA(g.Bounds())}
	withK := printer.Side{Color: colour.Color, K: mono(), Overlay: mono()}
	backK := printer.Side{K: mono()}
	for _, tc := range []struct {
		name string
		o    *ppdOptions
		c    printer.Card
		want string
	}{
		{"colour only", full, printer.Card{Geometry: g, Front: colour}, "[{StpBlackType Composite} {StpLaminate Off}]"},
		{"K and overlay", full, printer.Card{Geometry: g, Front: withK}, "[{StpBlackType Resin} {StpLaminate On}]"},
		{"K on the back", full, printer.Card{Geometry: g, Front: colour, Back: &backK}, "[{StpBlackType Resin} {StpLaminate Off}]"},
		{"queue without resin", noResin, printer.Card{Geometry: g, Front: withK}, "[{StpLaminate On}]"},
		{"no PPD", nil, printer.Card{Geometry: g, Front: withK}, "[]"},
	} {
		if got := fmt.Sprint(cardOptions(tc.o, &tc.c)); got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	p := &printerAttrs{color: true}
	if got := queuePanels(p, full); !slices.Equal(got, []printer.Panel{printer.PanelColor, printer.PanelK, printer.PanelOverlay}) {
		t.Errorf("queuePanels %v", got)
	}
	if got := queuePanels(p, &ppdOptions{choices: map[string][]string{"Duplex": {"None"}}}); got != nil {
		t.Errorf("queuePanels of a PPD without panel options: %v", got)
	}
}

func FuzzParsePPD(f *testing.F) {
	f.Add([]byte(testPPD))
	f.Add([]byte("*PPD-Adobe: \"4.3\"\n*OpenUI *A: PickOne\n*A B/C: \"\"\n*OpenUI *\n*DefaultA\n*A"))
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := parsePPD(strings.NewReader(string(b)))
		if err != nil {
			return
		}
		for name, cs := range o.choices {
			for _, c := range cs {
				if c == "" || !o.has(name, c) {
					t.Fatalf("option %q: choice %q", name, c)
				}
			}
		}
	})
}
