package config

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParse feeds arbitrary text to the loader: it must never panic, every
// failure must be a *Error with at least one problem, and whatever it
// accepts must survive Marshal → Parse unchanged.
func FuzzParse(f *testing.F) {
	f.Add([]byte(minimal))
	f.Add(EmbeddedTOML())
	f.Add([]byte("[station]\nid = 7\n[[printers]]\nname = \"a\"\n[[printers]]\nname = \"a\"\n"))
	f.Add([]byte("x = \"\"\"\n[a]\n\"\"\"\n[[b.c]]\n[b.c.d]\ne = {f = 1}\n"))
	f.Add([]byte("[station]\nid = \"office-7\"\n[security]\nserial_station = \"O7\"\n[[printers]]\nname = \"p\"\ndriver = \"evolis\"\nconnection = \"usb\"\n"))
	f.Add([]byte("[station]\nid='s'\n[[printers]]\nname='p'\ndriver='magicard'\nconnection='emulator'\n[[printers.emulator.faults]]\nkind='disconnect'\n"))
	f.Add([]byte(office))
	f.Add([]byte(central))
	f.Add([]byte(minimal + "[network]\nrole='field-office'\nembedded_hub=true\nhub_listen=':0'\nhub_urls=['tls://[::1]:1']\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		c, err := Parse("/fuzz/station.toml", data)
		if err != nil {
			var cerr *Error
			if !errors.As(err, &cerr) || len(cerr.Problems) == 0 {
				t.Fatalf("error %T %v is not a *Error with problems", err, err)
			}
			return
		}
		if !validSerialStation(c.Security.SerialStation) {
			t.Fatalf("accepted serial_station %q (station.id %q)", c.Security.SerialStation, c.Station.ID)
		}
		out, err := Marshal(c)
		if err != nil {
			t.Fatalf("Marshal of an accepted config: %v", err)
		}
		again, err := Parse("/fuzz/station.toml", out)
		if err != nil {
			t.Fatalf("effective config does not parse back: %v\n%s", err, out)
		}
		if !reflect.DeepEqual(again, c) {
			t.Fatalf("round trip changed the config:\n%+v\n%+v\n%s", c, again, out)
		}
	})
}
