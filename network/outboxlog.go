package network

import (
	"bytes"
	"encoding/binary"
	"hash/crc32"
)

// A record of the outbox log is one queued request:
//
//	magic      4 bytes  "cRq1"
//	length     4 bytes  big-endian: the bytes after the checksum
//	checksum   4 bytes  big-endian CRC-32C of those bytes
//	token len  1 byte   1–255
//	token      the job token (JobToken)
//	request    the request message (EncodeRequest), to the end
//
// A segment is records back to back. What a crash can leave is an
// incomplete record at the end (its Enqueue had not returned); anything
// else that is not a record is damage.
const (
	recordMagic    = "cRq1"
	recordHeader   = 4 + 4 + 4 + 1
	maxRecordToken = 255
	maxRecordBody  = 1 + maxRecordToken + MaxRequestBytes
)

var crcTable = crc32.MakeTable(crc32.Castagnoli)

// putRecordHeader fills in the header of rec, whose first
// recordHeader+len(tok) bytes are reserved for it and whose rest is the
// request.
func putRecordHeader(rec []byte, tok string) {
	copy(rec, recordMagic)
	binary.BigEndian.PutUint32(rec[4:], uint32(len(rec)-12))
	rec[12] = byte(len(tok))
	copy(rec[13:], tok)
	binary.BigEndian.PutUint32(rec[8:], crc32.Checksum(rec[12:], crcTable))
}

// segRecord is a record found in a segment: its token, and where its
// request lies.
type segRecord struct {
	tok string
	off int64
	n   int
}

// span is a range of a segment's bytes.
type span struct {
	off int64
	n   int
}

// parseRecord reads the record at b[pos:], returning it and where it
// ends; ok is false when there is no whole, intact record there.
func parseRecord(b []byte, pos int) (r segRecord, end int, ok bool) {
	if len(b)-pos < recordHeader || string(b[pos:pos+4]) != recordMagic {
		return segRecord{}, 0, false
	}
	n := binary.BigEndian.Uint32(b[pos+4:])
	if n < 2 || n > maxRecordBody || int64(n) > int64(len(b)-pos-12) {
		return segRecord{}, 0, false
	}
	body := b[pos+12 : pos+12+int(n)]
	if crc32.Checksum(body, crcTable) != binary.BigEndian.Uint32(b[pos+8:]) {
		return segRecord{}, 0, false
	}
	tl := int(body[0])
	if tl == 0 || 1+tl > len(body) {
		return segRecord{}, 0, false
	}
	tok := string(body[1 : 1+tl])
	if _, err := JobIDOfToken(tok); err != nil {
		return segRecord{}, 0, false
	}
	return segRecord{tok: tok, off: int64(pos + 13 + tl), n: len(body) - 1 - tl}, pos + 12 + int(n), true
}

// scanSegment reads a segment: its intact records in order, the damaged
// stretches between them, and the length of an incomplete tail (bytes
// after the last record that no intact record follows).
func scanSegment(b []byte) (recs []segRecord, damaged []span, torn int) {
	pos := 0
	for pos < len(b) {
		if r, end, ok := parseRecord(b, pos); ok {
			recs = append(recs, r)
			pos = end
			continue
		}
		next := -1
		for i := pos + 1; i < len(b); {
			j := bytes.Index(b[i:], []byte(recordMagic))
			if j < 0 {
				break
			}
			if _, _, ok := parseRecord(b, i+j); ok {
				next = i + j
				break
			}
			i += j + 1
		}
		if next < 0 {
			return recs, damaged, len(b) - pos
		}
		damaged = append(damaged, span{off: int64(pos), n: next - pos})
		pos = next
	}
	return recs, damaged, 0
}
