//go:build !amd64 || purego

package printer

// haveBlock4 is true where pack7Block4 is written in assembly.
const haveBlock4 = false

// pack7Block4 is never called where haveBlock4 is false.
func pack7Block4(y, m, c *byte, src *byte, stride, blocks, step int) int {
	panic("printer: pack7Block4 without assembly")
}
