package config

import (
	"strings"
	"testing"
)

func TestParseConnection(t *testing.T) {
	tests := []struct {
		in      string
		want    Connection
		wantErr string
	}{
		{in: "usb", want: Connection{Kind: ConnUSB}},
		{in: "usb:ABC123", want: Connection{Kind: ConnUSB, Serial: "ABC123"}},
		{in: "usb:0f49:1234", want: Connection{Kind: ConnUSB, VendorID: 0x0f49, ProductID: 0x1234}},
		{in: "usb:0x0C1F:5001:MC-7", want: Connection{Kind: ConnUSB, VendorID: 0x0c1f, ProductID: 0x5001, Serial: "MC-7"}},
		{in: "tcp:printer.lan:9100", want: Connection{Kind: ConnTCP, Address: "printer.lan:9100"}},
		{in: "tcp:[::1]:9100", want: Connection{Kind: ConnTCP, Address: "[::1]:9100"}},
		{in: "emulator", want: Connection{Kind: ConnEmulator}},
		{in: "", wantErr: "want usb"},
		{in: "usb:", wantErr: "empty serial"},
		{in: "usb:0f49:1234:", wantErr: "empty serial"},
		{in: "usb:0f49:12345", wantErr: "product id"},
		{in: "usb:0000:1234", wantErr: "not a device id"},
		{in: "usb:a:b:c:d", wantErr: "want usb, usb:SERIAL"},
		{in: "usb:has space", wantErr: "space or control"},
		{in: "usb:" + strings.Repeat("x", 127), wantErr: "longer than 126"},
		{in: "tcp:host", wantErr: "want tcp:HOST:PORT"},
		{in: "tcp::9100", wantErr: "want tcp:HOST:PORT"},
		{in: "tcp:host:0", wantErr: "port \"0\""},
		{in: "tcp:host:http", wantErr: "port \"http\""},
		{in: "emulator:fast", wantErr: "takes no arguments"},
		{in: "serial:/dev/ttyS0", wantErr: "want usb"},
		{in: "ipp://localhost:631/printers/Magicard", want: Connection{Kind: ConnIPP, URI: "ipp://localhost:631/printers/Magicard"}},
		{in: "ipps://cards.example/ipp/print", want: Connection{Kind: ConnIPP, URI: "ipps://cards.example/ipp/print"}},
		{in: "ipp://[::1]:8631/printers/x", want: Connection{Kind: ConnIPP, URI: "ipp://[::1]:8631/printers/x"}},
		{in: "ipp:/printers/x", wantErr: "want ipp://HOST"},
		{in: "ipp://host:0/printers/x", wantErr: "port \"0\""},
		{in: "ipp://host:99999/printers/x", wantErr: "port \"99999\""},
		{in: "ipp://host/", wantErr: "no queue path"},
		{in: "ipp://host", wantErr: "no queue path"},
		{in: "ipp://user@host/printers/x", wantErr: "no user, query"},
		{in: "ipp://host/printers/x?waitjob=false", wantErr: "no user, query"},
		{in: "ipp://host/printers/x#a", wantErr: "no user, query"},
		{in: "ipp://host/printers/a b", wantErr: "space or control"},
		{in: "http://host/printers/x", wantErr: "want usb"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseConnection(tt.in)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseConnection(%q) = %+v, %v; want error containing %q", tt.in, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseConnection(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseConnection(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			// String gives a form that parses back to the same connection.
			again, err := ParseConnection(got.String())
			if err != nil || again != got {
				t.Errorf("ParseConnection(%q) = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func FuzzParseConnection(f *testing.F) {
	for _, s := range []string{"usb", "usb:X", "usb:0f49:1234:S", "tcp:h:1", "emulator", "tcp:[::1]:9100"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseConnection(s)
		if err != nil {
			return
		}
		again, err := ParseConnection(c.String())
		if err != nil || again != c {
			t.Fatalf("%q → %+v → %q → %+v, %v", s, c, c.String(), again, err)
		}
	})
}
