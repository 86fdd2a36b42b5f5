//go:build !amd64 || purego

package printer

// haveSSE2 is true where pack7Block4 and quarterBlock16 are written in
// assembly (SSE2, part of every amd64).
const haveSSE2 = false

// pack7Block4 is never called where haveSSE2 is false.
func pack7Block4(y, m, c *byte, src *byte, stride, blocks, step int) int {
	panic("printer: pack7Block4 without assembly")
}

// quarterBlock16 is never called where haveSSE2 is false.
func quarterBlock16(dst *byte, dstep int, src *byte, stride, groups int) {
	panic("printer: quarterBlock16 without assembly")
}

// dye7Block4 is never called where haveSSE2 is false.
func dye7Block4(y, m, c *byte, src *byte, stride, blocks, step int) int {
	panic("printer: dye7Block4 without assembly")
}
