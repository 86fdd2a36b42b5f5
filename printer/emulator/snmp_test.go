package emulator

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"
)

// snmpRequest builds an SNMP v1 request of kind for oids.
func snmpRequest(kind byte, id int64, oids ...[]int) []byte {
	var vbs []byte
	for _, o := range oids {
		vbs = append(vbs, berWrap(berSequence, append(berWrap(berOID, encodeOID(o)), berNull, 0))...)
	}
	pdu := append(berInt(id), berInt(0)...)
	pdu = append(pdu, berInt(0)...)
	pdu = append(pdu, berWrap(berSequence, vbs)...)
	msg := append(berInt(0), berWrap(berOctets, []byte("public"))...)
	msg = append(msg, berWrap(kind, pdu)...)
	return berWrap(berSequence, msg)
}

// snmpVarbinds reads a response's error status and variable bindings.
func snmpVarbinds(t *testing.T, b []byte) (status int, oids [][]int, vals [][]byte) {
	t.Helper()
	msg, _, err := berTLV(b, berSequence)
	if err != nil {
		t.Fatal(err)
	}
	_, msg, _ = berTLV(msg, berInteger)
	_, msg, _ = berTLV(msg, berOctets)
	pdu, _, err := berTLV(msg, pduResponse)
	if err != nil {
		t.Fatalf("not a response: %v", err)
	}
	_, pdu, _ = berTLV(pdu, berInteger)
	st, pdu, _ := berTLV(pdu, berInteger)
	_, pdu, _ = berTLV(pdu, berInteger)
	vbl, _, _ := berTLV(pdu, berSequence)
	for len(vbl) > 0 {
		var vb []byte
		vb, vbl, _ = berTLV(vbl, berSequence)
		raw, rest, _ := berTLV(vb, berOID)
		o, err := decodeOID(raw)
		if err != nil {
			t.Fatal(err)
		}
		oids, vals = append(oids, o), append(vals, rest)
	}
	return int(st[0]), oids, vals
}

// TestSNMPAgent asks the agent over UDP what CUPS's backends ask: the
// printer's condition bits (cover open), and a walk of the supplies table.
func TestSNMPAgent(t *testing.T) {
	e, err := New(Languages()[1], &Options{Faults: FaultPlan{CoverOpen: true}, Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- e.ServeSNMP(ctx, pc) }()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	}()
	c, err := net.Dial("udp", pc.LocalAddr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ask := func(req []byte) []byte {
		t.Helper()
		if _, err := c.Write(req); err != nil {
			t.Fatal(err)
		}
		c.SetReadDeadline(time.Now().Add(time.Minute))
		buf := make([]byte, 4096)
		n, err := c.Read(buf)
		if err != nil {
			t.Fatal(err)
		}
		return buf[:n]
	}
	errState := []int{1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 2, 1}
	st, oids, vals := snmpVarbinds(t, ask(snmpRequest(pduGet, 7, errState)))
	if st != 0 || len(oids) != 1 || !slices.Equal(oids[0], errState) || !bytes.Equal(vals[0], []byte{berOctets, 2, 0x08, 0x00}) {
		t.Fatalf("hrPrinterDetectedErrorState: status %d, %v = %x", st, oids, vals)
	}
	// Walk the supplies table with GetNext, as CUPS does.
	entry := []int{1, 3, 6, 1, 2, 1, 43, 11, 1, 1}
	cur, n := entry, 0
	for {
		st, oids, _ := snmpVarbinds(t, ask(snmpRequest(pduGetNext, int64(n), cur)))
		if st != 0 || !slices.Equal(oids[0][:len(entry)], entry) {
			break
		}
		cur, n = oids[0], n+1
	}
	if n != 7 {
		t.Fatalf("supplies walk: %d columns, want 7", n)
	}
	if st, _, _ := snmpVarbinds(t, ask(snmpRequest(pduGet, 9, []int{1, 3, 6, 1, 4, 1, 9}))); st != snmpNoSuchNm {
		t.Fatalf("unknown OID: status %d", st)
	}
}

// FuzzSNMPAnswer feeds arbitrary datagrams to the agent, which must never
// panic and must answer only well-formed requests with a response.
func FuzzSNMPAnswer(f *testing.F) {
	f.Add(snmpRequest(pduGet, 1, []int{1, 3, 6, 1, 2, 1, 25, 3, 5, 1, 2, 1}))
	f.Add(snmpRequest(pduGetNext, 2, []int{1, 3, 6, 1, 2, 1, 43, 11, 1, 1}))
	f.Add([]byte{0x30, 0x82, 0xff, 0xff})
	e, err := New(Languages()[1], &Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		resp, err := e.snmpAnswer(b)
		if err == nil && (len(resp) < 2 || resp[0] != berSequence) {
			t.Fatalf("answer %x", resp)
		}
	})
}
