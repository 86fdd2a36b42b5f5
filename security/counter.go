package security

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"strconv"
	"strings"
)

// The counter file of an Allocator is counterSize bytes: two slots of
// slotSize bytes, each a line of text followed by zero bytes:
//
//	cardd serial counter IIII-SS NNNNNNN CCCCCCCC
//
// where IIII-SS names the issuer and station, NNNNNNN is a sequence number
// (7 digits, 0 before the first serial) and CCCCCCCC the CRC-32 (IEEE) of
// the line before the space that precedes it, in hexadecimal. Sequence
// number n is written to slot n%2, in place, so the write of n leaves the
// other slot holding n-1, the last number handed out. The counter is the
// greater of the valid slots: a write torn by a crash fails its check and
// is ignored, the other slot stands (the torn number was not handed out:
// it is returned only once its write is flushed). A slot has a block of
// its own, so writing one never rewrites the other's sectors.
//
// Before this format the file held the last number as one decimal line;
// OpenAllocator converts such a file.
const (
	slotSize    = 4096
	counterSize = 2 * slotSize
	// maxLegacyCounter bounds the older format's file.
	maxLegacyCounter = 64
)

// slotOffset is where sequence number n is written.
func slotOffset(n uint32) int64 { return int64(n%2) * slotSize }

// slotLine is the text of a slot holding n, without its check.
func slotLine(issuer, station string, n uint32) string {
	return fmt.Sprintf("cardd serial counter %s-%s %07d", issuer, station, n)
}

// encodeSlot returns the line written to n's slot. Its length depends on
// issuer and station only, so it covers the line it replaces exactly.
func encodeSlot(issuer, station string, n uint32) []byte {
	line := slotLine(issuer, station, n)
	return fmt.Appendf(nil, "%s %08x\n", line, crc32.ChecksumIEEE([]byte(line)))
}

// encodeCounter returns a whole counter file whose slots both hold last.
func encodeCounter(issuer, station string, last uint32) []byte {
	b := make([]byte, counterSize)
	copy(b, encodeSlot(issuer, station, last))
	copy(b[slotSize:], encodeSlot(issuer, station, last))
	return b
}

// errNoSlot is a slot that holds no valid counter.
var errNoSlot = errors.New("no valid counter")

// parseSlot returns the sequence number a slot holds for issuer and
// station, or an error if it holds none (torn, foreign or garbage).
func parseSlot(b []byte, issuer, station string) (uint32, error) {
	i := bytes.IndexByte(b, '\n')
	if i < 0 {
		return 0, errNoSlot
	}
	line := string(b[:i])
	prefix := slotLine(issuer, station, 0)
	prefix = prefix[:len(prefix)-SequenceLen]
	rest, ok := strings.CutPrefix(line, prefix)
	if !ok || len(rest) != SequenceLen+1+8 {
		return 0, errNoSlot
	}
	for _, c := range []byte(rest[:SequenceLen]) {
		if c < '0' || c > '9' {
			return 0, errNoSlot
		}
	}
	n, err := strconv.ParseUint(rest[:SequenceLen], 10, 32)
	if err != nil || n > MaxSequence {
		return 0, errNoSlot
	}
	if !bytes.Equal(b[:i+1], encodeSlot(issuer, station, uint32(n))) {
		return 0, errNoSlot
	}
	return uint32(n), nil
}

// parseCounter reads a counter file: the last sequence number handed out,
// and whether the file is of the current format (false: the older one-line
// format, to be converted).
func parseCounter(b []byte, issuer, station string) (last uint32, current bool, err error) {
	if len(b) == counterSize {
		var found bool
		for _, slot := range [][]byte{b[:slotSize], b[slotSize:]} {
			if n, err := parseSlot(slot, issuer, station); err == nil {
				last, found = max(last, n), true
			}
		}
		if !found {
			return 0, true, errors.New("neither slot holds a valid counter")
		}
		return last, true, nil
	}
	if len(b) > maxLegacyCounter {
		return 0, false, fmt.Errorf("%d bytes, neither a counter of %d bytes nor a one-line counter", len(b), counterSize)
	}
	v, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 32)
	if err != nil || v > MaxSequence {
		return 0, false, fmt.Errorf("corrupt (%q)", strings.TrimSpace(string(b)))
	}
	return uint32(v), false, nil
}
