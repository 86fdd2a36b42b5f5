package emulator

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"

	"github.com/cardd/cardd/printer"
)

// The emulator's SNMP agent: what a network card printer answers on UDP
// port 161, so a spooler's backend (CUPS's socket backend asks the device's
// address before, during and after a job) learns the printer's condition.
// It speaks SNMP version 1 (GetRequest, GetNextRequest; any community) and
// serves a small part of the Host Resources and Printer MIBs from the
// Machine's state:
//
//	hrDeviceDescr.1                 the model
//	hrPrinterStatus.1               idle (3), printing (4), other (1) on a fault
//	hrPrinterDetectedErrorState.1   two bytes of condition bits: doorOpen
//	                                (cover open), jammed, noPaper (feeder
//	                                empty), noToner (ribbon out), outputFull;
//	                                a fault the front end still holds (a
//	                                Magicard until its error is
//	                                acknowledged) counts as present
//	prtGeneralCurrentLocalization.1, prtLocalizationCharacterSet.1.1: ASCII
//	prtMarkerLifeCount.1.1          cards printed
//	prtMarkerSuppliesTable row 1.1  the ribbon: colorant index, class
//	                                (consumed), type (ink ribbon), its
//	                                name, unit (impressions), capacity and
//	                                level in prints

// ASN.1 BER tags used by SNMP v1.
const (
	berInteger   = 0x02
	berOctets    = 0x04
	berNull      = 0x05
	berOID       = 0x06
	berSequence  = 0x30
	berCounter   = 0x41
	pduGet       = 0xa0
	pduGetNext   = 0xa1
	pduResponse  = 0xa2
	snmpNoSuchNm = 2 // error-status noSuchName
)

// snmpValue is one MIB value: an INTEGER, an OCTET STRING or a Counter32.
type snmpValue struct {
	tag   byte
	num   int64
	bytes []byte
}

type mibEntry struct {
	oid []int
	val snmpValue
}

// Bits of hrPrinterDetectedErrorState (RFC 2790), first byte high.
const (
	hrNoPaper    = 0x4000
	hrNoToner    = 0x1000
	hrDoorOpen   = 0x0800
	hrJammed     = 0x0400
	hrOutputFull = 0x0008
)

// mib returns the agent's MIB view of the machine now, sorted by OID.
func (e *Emulator) mib() []mibEntry {
	st := e.m.State()
	id := e.m.Identity()
	held := e.latchedFault() // a fault the printer still shows
	bits := 0
	if st.CoverOpen || errors.Is(held, printer.ErrCoverOpen) {
		bits |= hrDoorOpen
	}
	if st.Jammed || errors.Is(held, printer.ErrCardJam) {
		bits |= hrJammed
	}
	if st.FeederCards == 0 || errors.Is(held, printer.ErrFeederEmpty) {
		bits |= hrNoPaper
	}
	if st.RibbonLeft == 0 || errors.Is(held, printer.ErrRibbonOut) {
		bits |= hrNoToner
	}
	if st.HopperCards >= st.HopperCapacity || errors.Is(held, printer.ErrHopperFull) {
		bits |= hrOutputFull
	}
	status := int64(3) // idle
	switch {
	case bits != 0 || held != nil:
		status = 1 // other
	case st.CardInside:
		status = 4 // printing
	}
	integer := func(v int64) snmpValue { return snmpValue{tag: berInteger, num: v} }
	octets := func(s string) snmpValue { return snmpValue{tag: berOctets, bytes: []byte(s)} }
	hr := []int{1, 3, 6, 1, 2, 1, 25, 3}
	prt := []int{1, 3, 6, 1, 2, 1, 43}
	at := func(base []int, rest ...int) []int { return append(slices.Clone(base), rest...) }
	m := []mibEntry{
		{at(hr, 2, 1, 3, 1), octets(id.Model + " (cardd emulator)")},
		{at(hr, 5, 1, 1, 1), integer(status)},
		{at(hr, 5, 1, 2, 1), snmpValue{tag: berOctets, bytes: []byte{byte(bits >> 8), byte(bits)}}},
		{at(prt, 5, 1, 1, 2, 1), integer(1)},
		{at(prt, 7, 1, 1, 4, 1, 1), integer(3)}, // csASCII
		{at(prt, 10, 2, 1, 4, 1, 1), snmpValue{tag: berCounter, num: int64(st.CardsPrinted)}},
		{at(prt, 11, 1, 1, 3, 1, 1), integer(1)},
		{at(prt, 11, 1, 1, 4, 1, 1), integer(3)}, // supplyThatIsConsumed
		{at(prt, 11, 1, 1, 5, 1, 1), integer(7)}, // inkRibbon
		{at(prt, 11, 1, 1, 6, 1, 1), octets(id.Ribbon + " ribbon")},
		{at(prt, 11, 1, 1, 7, 1, 1), integer(7)}, // impressions
		{at(prt, 11, 1, 1, 8, 1, 1), integer(int64(st.RibbonCapacity))},
		{at(prt, 11, 1, 1, 9, 1, 1), integer(int64(st.RibbonLeft))},
	}
	slices.SortFunc(m, func(a, b mibEntry) int { return slices.Compare(a.oid, b.oid) })
	return m
}

// ServeSNMP answers SNMP requests on pc until ctx ends (then it closes pc
// and returns nil) or reading fails. Malformed datagrams are dropped, as
// an agent does.
func (e *Emulator) ServeSNMP(ctx context.Context, pc net.PacketConn) error {
	stop := context.AfterFunc(ctx, func() { pc.Close() })
	defer stop()
	buf := make([]byte, 4096)
	for {
		n, from, err := pc.ReadFrom(buf)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("emulator: snmp: %w", err)
		}
		resp, err := e.snmpAnswer(buf[:n])
		if err != nil {
			e.log.Debug("emulator: snmp: dropped a datagram", "from", from.String(), "err", err)
			continue
		}
		if _, err := pc.WriteTo(resp, from); err != nil && ctx.Err() == nil {
			e.log.Debug("emulator: snmp: reply", "to", from.String(), "err", err)
		}
	}
}

// snmpAnswer decodes one request and returns its response.
func (e *Emulator) snmpAnswer(req []byte) ([]byte, error) {
	msg, rest, err := berTLV(req, berSequence)
	if err != nil || len(rest) != 0 {
		return nil, errors.New("not an SNMP message")
	}
	ver, msg, err := berTLV(msg, berInteger)
	if err != nil || len(ver) != 1 || ver[0] != 0 {
		return nil, errors.New("not SNMP version 1")
	}
	community, msg, err := berTLV(msg, berOctets)
	if err != nil || len(msg) == 0 {
		return nil, errors.New("no community")
	}
	kind := msg[0]
	if kind != pduGet && kind != pduGetNext {
		return nil, fmt.Errorf("PDU type %#x not served", kind)
	}
	pdu, _, err := berTLV(msg, kind)
	if err != nil {
		return nil, err
	}
	reqID, pdu, err := berTLV(pdu, berInteger)
	if err != nil {
		return nil, err
	}
	for range 2 { // error-status, error-index
		if _, pdu, err = berTLV(pdu, berInteger); err != nil {
			return nil, err
		}
	}
	vbl, _, err := berTLV(pdu, berSequence)
	if err != nil {
		return nil, err
	}
	mib := e.mib()
	var vbs []byte
	errStatus, errIndex := 0, 0
	for i := 1; len(vbl) > 0; i++ {
		var vb []byte
		if vb, vbl, err = berTLV(vbl, berSequence); err != nil {
			return nil, err
		}
		rawOID, _, err := berTLV(vb, berOID)
		if err != nil {
			return nil, err
		}
		oid, err := decodeOID(rawOID)
		if err != nil {
			return nil, err
		}
		var hit *mibEntry
		for j := range mib {
			c := slices.Compare(mib[j].oid, oid)
			if (kind == pduGet && c == 0) || (kind == pduGetNext && c > 0) {
				hit = &mib[j]
				break
			}
		}
		if hit == nil {
			if errStatus == 0 {
				errStatus, errIndex = snmpNoSuchNm, i
			}
			vbs = append(vbs, berWrap(berSequence, append(berWrap(berOID, rawOID), berNull, 0))...)
			continue
		}
		vbs = append(vbs, berWrap(berSequence, append(berWrap(berOID, encodeOID(hit.oid)), hit.val.encode()...))...)
	}
	body := berWrap(berInteger, reqID)
	body = append(body, berInt(int64(errStatus))...)
	body = append(body, berInt(int64(errIndex))...)
	body = append(body, berWrap(berSequence, vbs)...)
	out := append(berInt(0), berWrap(berOctets, community)...)
	out = append(out, berWrap(pduResponse, body)...)
	return berWrap(berSequence, out), nil
}

func (v snmpValue) encode() []byte {
	switch v.tag {
	case berOctets:
		return berWrap(berOctets, v.bytes)
	case berCounter:
		b := berInt(v.num)
		b[0] = berCounter
		return b
	}
	return berInt(v.num)
}

// berTLV reads one element with tag want at the start of b and returns its
// contents and what follows it.
func berTLV(b []byte, want byte) (content, rest []byte, err error) {
	if len(b) < 2 || b[0] != want {
		return nil, nil, fmt.Errorf("want tag %#x", want)
	}
	n, hdr := int(b[1]), 2
	if n&0x80 != 0 {
		k := n & 0x7f
		if k == 0 || k > 2 || len(b) < 2+k {
			return nil, nil, errors.New("bad length")
		}
		n = 0
		for _, c := range b[2 : 2+k] {
			n = n<<8 | int(c)
		}
		hdr += k
	}
	if len(b)-hdr < n {
		return nil, nil, errors.New("truncated")
	}
	return b[hdr : hdr+n], b[hdr+n:], nil
}

// berWrap returns tag, the length of content and content.
func berWrap(tag byte, content []byte) []byte {
	n := len(content)
	var out []byte
	switch {
	case n < 0x80:
		out = []byte{tag, byte(n)}
	case n < 0x100:
		out = []byte{tag, 0x81, byte(n)}
	default:
		out = []byte{tag, 0x82, byte(n >> 8), byte(n)}
	}
	return append(out, content...)
}

// berInt encodes an INTEGER in the fewest two's complement bytes.
func berInt(v int64) []byte {
	b := []byte{byte(v)}
	for v > 127 || v < -128 {
		v >>= 8
		b = append([]byte{byte(v)}, b...)
	}
	return berWrap(berInteger, b)
}

func decodeOID(b []byte) ([]int, error) {
	if len(b) == 0 || len(b) > 128 {
		return nil, errors.New("bad OID")
	}
	oid := []int{int(b[0]) / 40, int(b[0]) % 40}
	v := 0
	for i, c := range b[1:] {
		v = v<<7 | int(c&0x7f)
		if c&0x80 == 0 {
			oid = append(oid, v)
			v = 0
		} else if i == len(b)-2 || v > 1<<24 {
			return nil, errors.New("bad OID")
		}
	}
	return oid, nil
}

func encodeOID(oid []int) []byte {
	out := []byte{byte(40*oid[0] + oid[1])}
	for _, n := range oid[2:] {
		var part []byte
		part = append(part, byte(n&0x7f))
		for n >>= 7; n > 0; n >>= 7 {
			part = append([]byte{byte(n&0x7f | 0x80)}, part...)
		}
		out = append(out, part...)
	}
	return out
}
