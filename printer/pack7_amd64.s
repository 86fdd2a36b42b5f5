//go:build amd64 && !purego

#include "textflag.h"

// Constants of pack7Block4 (see pack7_amd64.go).
DATA pack7mask<>+0(SB)/8, $0x00fe00fe00fe00fe
DATA pack7mask<>+8(SB)/8, $0x00fe00fe00fe00fe
GLOBL pack7mask<>(SB), RODATA|NOPTR, $16
DATA pack7madd<>+0(SB)/8, $0x0001400000014000
DATA pack7madd<>+8(SB)/8, $0x0001400000014000
GLOBL pack7madd<>(SB), RODATA|NOPTR, $16
DATA pack7mul<>+0(SB)/8, $0x10000000
DATA pack7mul<>+8(SB)/8, $0x10000000
GLOBL pack7mul<>(SB), RODATA|NOPTR, $16

DATA dye7mask<>+0(SB)/8, $0xfefefefefefefefe
DATA dye7mask<>+8(SB)/8, $0xfefefefefefefefe
GLOBL dye7mask<>(SB), RODATA|NOPTR, $16

// DYE7 turns the 8-bit channel values in X into their 7-bit dyes, one a
// byte: X14 holds dye7mask.
#define DYE7(X) \
	PANDN X14, X; \
	PSRLW $1, X

// PACK7 turns the two columns of eight 8-bit channel values in X (dot k
// in byte k of each quadword) into their packed 7-bit dyes, in wire
// order: the 56 bits of each quadword stored most significant byte
// first, then a zero byte. X12 is scratch; X13 holds pack7madd, X14
// pack7mask and X15 all ones.
#define PACK7(X) \
	MOVO X, X12; \
	PANDN X14, X; \
	PSLLW $6, X; \
	PXOR X15, X12; \
	PSRLW $9, X12; \
	POR X12, X; \
	PMADDWL X13, X; \
	MOVO X, X12; \
	PSRLQ $32, X12; \
	PMULULQ pack7mul<>(SB), X; \
	POR X12, X; \
	PSLLQ $8, X; \
	PSHUFLW $0x1b, X, X; \
	PSHUFHW $0x1b, X, X; \
	MOVO X, X12; \
	PSRLW $8, X12; \
	PSLLW $8, X; \
	POR X12, X

// TRANSPOSE turns the 8 rows × 16 bytes in X0-X7 (row k in Xk) into 16
// quadwords, one per byte position p, byte k of each from row k: p = 0, 1
// in X2, 2, 3 in X1, 4, 5 in X6, 6, 7 in X8, 8, 9 in X9, 10, 11 in X3,
// 12, 13 in X11 and 14, 15 in X0 (for RGBA dots: R G of dot 0 in X2, B A
// in X1, and so on). Pairs of rows are interleaved bytewise, then the
// pairs wordwise, then the quadruples doublewordwise. X4, X5, X7, X10
// are clobbered.
#define TRANSPOSE \
	MOVO X0, X8; \
	PUNPCKLBW X1, X8; \
	PUNPCKHBW X1, X0; \
	MOVO X2, X9; \
	PUNPCKLBW X3, X9; \
	PUNPCKHBW X3, X2; \
	MOVO X4, X10; \
	PUNPCKLBW X5, X10; \
	PUNPCKHBW X5, X4; \
	MOVO X6, X11; \
	PUNPCKLBW X7, X11; \
	PUNPCKHBW X7, X6; \
	MOVO X8, X1; \
	PUNPCKLWL X9, X1; \
	PUNPCKHWL X9, X8; \
	MOVO X0, X3; \
	PUNPCKLWL X2, X3; \
	PUNPCKHWL X2, X0; \
	MOVO X10, X5; \
	PUNPCKLWL X11, X5; \
	PUNPCKHWL X11, X10; \
	MOVO X4, X7; \
	PUNPCKLWL X6, X7; \
	PUNPCKHWL X6, X4; \
	MOVO X1, X2; \
	PUNPCKLLQ X5, X2; \
	PUNPCKHLQ X5, X1; \
	MOVO X8, X6; \
	PUNPCKLLQ X10, X6; \
	PUNPCKHLQ X10, X8; \
	MOVO X3, X9; \
	PUNPCKLLQ X7, X9; \
	PUNPCKHLQ X7, X3; \
	MOVO X0, X11; \
	PUNPCKLLQ X4, X11; \
	PUNPCKHLQ X4, X0

// func pack7Block4(y, m, c *byte, src *byte, stride, blocks, step int) int
TEXT ·pack7Block4(SB), NOSPLIT, $0-64
	MOVQ y+0(FP), DI
	MOVQ m+8(FP), R11
	MOVQ c+16(FP), R12
	MOVQ src+24(FP), SI
	MOVQ stride+32(FP), DX
	MOVQ blocks+40(FP), CX
	MOVQ step+48(FP), BX
	LEAQ (BX)(BX*2), R10 // 3 steps
	LEAQ (DX)(DX*2), AX
	LEAQ (SI)(AX*1), R8  // dot 3's row
	LEAQ (R8)(AX*1), R9  // dot 6's row
	MOVOU pack7madd<>(SB), X13
	MOVOU pack7mask<>(SB), X14
	PCMPEQB X15, X15
	XORQ AX, AX // blocks done

loop:
	CMPQ AX, CX
	JGE done
	MOVOU (SI), X0
	MOVOU (SI)(DX*1), X1
	MOVOU (SI)(DX*2), X2
	MOVOU (R8), X3
	MOVOU (R8)(DX*1), X4
	MOVOU (R8)(DX*2), X5
	MOVOU (R9), X6
	MOVOU (R9)(DX*1), X7

	// A translucent dot: stop, the caller composites it.
	MOVO X0, X8
	PAND X1, X8
	PAND X2, X8
	PAND X3, X8
	PAND X4, X8
	PAND X5, X8
	PAND X6, X8
	PAND X7, X8
	PCMPEQB X15, X8
	PMOVMSKB X8, R13
	ANDL $0x8888, R13
	CMPL R13, $0x8888
	JNE done

	TRANSPOSE
	PUNPCKLQDQ X8, X1 // B0 B1
	PUNPCKLQDQ X0, X3 // B2 B3

	PACK7(X2)
	PACK7(X6)
	PACK7(X9)
	PACK7(X11)
	PACK7(X1)
	PACK7(X3)

	// Cyan from red, magenta from green, yellow from blue.
	MOVQ X2, (R12)
	MOVHPS X2, (R11)
	MOVQ X6, (R12)(BX*1)
	MOVHPS X6, (R11)(BX*1)
	MOVQ X9, (R12)(BX*2)
	MOVHPS X9, (R11)(BX*2)
	MOVQ X11, (R12)(R10*1)
	MOVHPS X11, (R11)(R10*1)
	MOVQ X1, (DI)
	MOVHPS X1, (DI)(BX*1)
	MOVQ X3, (DI)(BX*2)
	MOVHPS X3, (DI)(R10*1)

	ADDQ $16, SI
	ADDQ $16, R8
	ADDQ $16, R9
	LEAQ (DI)(BX*4), DI
	LEAQ (R11)(BX*4), R11
	LEAQ (R12)(BX*4), R12
	INCQ AX
	JMP loop

done:
	MOVQ AX, ret+56(FP)
	RET

// func dye7Block4(y, m, c *byte, src *byte, stride, blocks, step int) int
TEXT ·dye7Block4(SB), NOSPLIT, $0-64
	MOVQ y+0(FP), DI
	MOVQ m+8(FP), R11
	MOVQ c+16(FP), R12
	MOVQ src+24(FP), SI
	MOVQ stride+32(FP), DX
	MOVQ blocks+40(FP), CX
	MOVQ step+48(FP), BX
	LEAQ (BX)(BX*2), R10 // 3 steps
	LEAQ (DX)(DX*2), AX
	LEAQ (SI)(AX*1), R8  // dot 3's row
	LEAQ (R8)(AX*1), R9  // dot 6's row
	MOVOU dye7mask<>(SB), X14
	PCMPEQB X15, X15
	XORQ AX, AX // blocks done

dyeloop:
	CMPQ AX, CX
	JGE dyedone
	MOVOU (SI), X0
	MOVOU (SI)(DX*1), X1
	MOVOU (SI)(DX*2), X2
	MOVOU (R8), X3
	MOVOU (R8)(DX*1), X4
	MOVOU (R8)(DX*2), X5
	MOVOU (R9), X6
	MOVOU (R9)(DX*1), X7

	// A translucent dot: stop, the caller composites it.
	MOVO X0, X8
	PAND X1, X8
	PAND X2, X8
	PAND X3, X8
	PAND X4, X8
	PAND X5, X8
	PAND X6, X8
	PAND X7, X8
	PCMPEQB X15, X8
	PMOVMSKB X8, R13
	ANDL $0x8888, R13
	CMPL R13, $0x8888
	JNE dyedone

	TRANSPOSE
	PUNPCKLQDQ X8, X1 // B0 B1
	PUNPCKLQDQ X0, X3 // B2 B3

	// The dye of a channel value v at 7 bits is (255 − v) >> 1.
	DYE7(X2)
	DYE7(X6)
	DYE7(X9)
	DYE7(X11)
	DYE7(X1)
	DYE7(X3)

	// Cyan from red, magenta from green, yellow from blue.
	MOVQ X2, (R12)
	MOVHPS X2, (R11)
	MOVQ X6, (R12)(BX*1)
	MOVHPS X6, (R11)(BX*1)
	MOVQ X9, (R12)(BX*2)
	MOVHPS X9, (R11)(BX*2)
	MOVQ X11, (R12)(R10*1)
	MOVHPS X11, (R11)(R10*1)
	MOVQ X1, (DI)
	MOVHPS X1, (DI)(BX*1)
	MOVQ X3, (DI)(BX*2)
	MOVHPS X3, (DI)(R10*1)

	ADDQ $16, SI
	ADDQ $16, R8
	ADDQ $16, R9
	LEAQ (DI)(BX*4), DI
	LEAQ (R11)(BX*4), R11
	LEAQ (R12)(BX*4), R12
	INCQ AX
	JMP dyeloop

dyedone:
	MOVQ AX, ret+56(FP)
	RET
