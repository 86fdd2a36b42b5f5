package config_test

import (
	"errors"
	"fmt"

	"github.com/cardd/cardd/config"
)

// A configuration with problems reports all of them, each with its file,
// line and key path.
func ExampleParse() {
	text := `[station]
id = "office-7"
mode = "temporary"

[[printers]]
name = "desk"
driver = "evolis"
connection = "usb:0f49:1234:EV001"
resolution = 450
duplex = "yes"

[security]
serial_station = "OF7"
`
	_, err := config.Parse("/etc/cardd/station.toml", []byte(text))
	var problems *config.Error
	if errors.As(err, &problems) {
		for _, p := range problems.Problems {
			fmt.Println(p)
		}
	}
	// Output:
	// /etc/cardd/station.toml:9: printers[0].resolution: 450 is not 300 or 600
	// /etc/cardd/station.toml:10: printers[0].duplex: must be true or false, not string "yes"
}

// The embedded default needs no file: one emulated printer, paths under a
// work directory.
func ExampleEmbedded() {
	cfg, err := config.Embedded("/var/lib/cardd-demo")
	if err != nil {
		fmt.Println(err)
		return
	}
	p := cfg.Printers[0]
	fmt.Println(cfg.Station.Mode, cfg.Paths.Spool)
	fmt.Println(p.Name, p.Driver, p.Connection, p.FrontPanels, p.BackPanels)
	// Output:
	// temporary /var/lib/cardd-demo/spool
	// emulator evolis emulator [color k overlay] [color k overlay]
}
