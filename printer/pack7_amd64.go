//go:build amd64 && !purego

package printer

// haveSSE2 is true where pack7Block4 and quarterBlock16 are written in
// assembly (SSE2, part of every amd64).
const haveSSE2 = true

// pack7Block4 packs blocks of four columns of eight opaque RGBA dots at 7
// bits, with SSE2 (part of every amd64). Dot k of a block's columns lies
// at src + k·stride (stride may be negative); each block is the 16 bytes
// after the previous one. Column j of the blocks (counted on from the
// first block's first column) goes to the groups at y, m and c +
// j·step, 8 bytes each: the 7 bytes of the group, most significant
// first, and a zero byte that spills into the next group. It stops at the
// first block with a translucent dot, which it leaves unwritten, and
// returns how many blocks it packed.
//
//go:noescape
func pack7Block4(y, m, c *byte, src *byte, stride, blocks, step int) int

// quarterBlock16 is quarterTurnAffine for one block of 16 source bytes
// (128 dots) across groups of 8 source rows, with SSE2. Byte j of
// group g's row r lies at src + (r − 8g)·stride + j; row r carries the
// wire byte's dot 7 − r (so that each wire byte's first dot lands in its
// top bit). The wire byte of group g and source column 8j + c (bit 7 − c
// of byte j) goes to dst + (8j + c)·dstep + g. A block's 128 wire rows
// stay in the cache while it goes down the groups.
//
//go:noescape
func quarterBlock16(dst *byte, dstep int, src *byte, stride, groups int)

// dye7Block4 is pack7Block4 with the 7-bit dyes one a byte (a Plane's
// layout): column j's eight dyes go to y, m and c + j·step, dot k at byte
// k.
//
//go:noescape
func dye7Block4(y, m, c *byte, src *byte, stride, blocks, step int) int
