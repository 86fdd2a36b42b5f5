//go:build amd64 && !purego

package printer

// haveBlock4 is true where pack7Block4 is written in assembly.
const haveBlock4 = true

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
