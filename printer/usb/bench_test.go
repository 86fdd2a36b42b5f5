package usb

import "testing"

func BenchmarkParseDeviceID(b *testing.B) {
	r := reply("MFG:Evolis;CMD:EPL;MDL:Primacy;CLS:PRINTER;DES:Evolis Primacy;SN:PRI0001;", false, 0)
	b.ReportAllocs()
	for b.Loop() {
		s, err := decodeDeviceIDReply(r)
		if err != nil {
			b.Fatal(err)
		}
		if ParseDeviceID(s).Model != "Primacy" {
			b.Fatal("model")
		}
	}
}
