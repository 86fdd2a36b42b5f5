//go:build amd64 && !purego

#include "textflag.h"

// BITS8 stores the eight bit columns of the two source bytes in X (byte
// r of each quadword from source row r, rows fed last dot first): the
// left byte's to R8 + c·BX (c < 4) and R9 + (c−4)·BX, the right byte's
// to R11 and R12 likewise; R10 = 3·BX. Each PMOVMSKB takes the top bit of
// every byte (the bit column of the wire byte, first dot highest), then
// PADDB moves the next bit up. The pointers then move on 16 wire rows
// (R13 = 16·BX).
#define BITS8(X) \
	PMOVMSKB X, AX; \
	MOVB AX, (R8); \
	SHRL $8, AX; \
	MOVB AX, (R11); \
	PADDB X, X; \
	PMOVMSKB X, AX; \
	MOVB AX, (R8)(BX*1); \
	SHRL $8, AX; \
	MOVB AX, (R11)(BX*1); \
	PADDB X, X; \
	PMOVMSKB X, AX; \
	MOVB AX, (R8)(BX*2); \
	SHRL $8, AX; \
	MOVB AX, (R11)(BX*2); \
	PADDB X, X; \
	PMOVMSKB X, AX; \
	MOVB AX, (R8)(R10*1); \
	SHRL $8, AX; \
	MOVB AX, (R11)(R10*1); \
	PADDB X, X; \
	PMOVMSKB X, AX; \
	MOVB AX, (R9); \
	SHRL $8, AX; \
	MOVB AX, (R12); \
	PADDB X, X; \
	PMOVMSKB X, AX; \
	MOVB AX, (R9)(BX*1); \
	SHRL $8, AX; \
	MOVB AX, (R12)(BX*1); \
	PADDB X, X; \
	PMOVMSKB X, AX; \
	MOVB AX, (R9)(BX*2); \
	SHRL $8, AX; \
	MOVB AX, (R12)(BX*2); \
	PADDB X, X; \
	PMOVMSKB X, AX; \
	MOVB AX, (R9)(R10*1); \
	SHRL $8, AX; \
	MOVB AX, (R12)(R10*1); \
	ADDQ R13, R8; \
	ADDQ R13, R9; \
	ADDQ R13, R11; \
	ADDQ R13, R12

// func quarterBlock16(dst *byte, dstep int, src *byte, stride, groups int)
TEXT ·quarterBlock16(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ dstep+8(FP), BX
	MOVQ src+16(FP), SI
	MOVQ stride+24(FP), DX
	MOVQ groups+32(FP), CX
	TESTQ CX, CX
	JLE done
	LEAQ (BX)(BX*2), R10 // 3 wire rows
	MOVQ BX, R13
	SHLQ $4, R13         // 16 wire rows

loop:
	MOVQ DI, R8
	LEAQ (DI)(BX*4), R9
	LEAQ (DI)(BX*8), R11
	LEAQ (R9)(BX*8), R12
	LEAQ (SI)(DX*2), AX
	ADDQ DX, AX // row 3
	MOVOU (SI), X0
	MOVOU (SI)(DX*1), X1
	MOVOU (SI)(DX*2), X2
	MOVOU (AX), X3
	MOVOU (AX)(DX*1), X4
	MOVOU (AX)(DX*2), X5
	LEAQ (AX)(DX*2), AX
	ADDQ DX, AX // row 6
	MOVOU (AX), X6
	MOVOU (AX)(DX*1), X7

	// Transpose the 8 rows × 16 bytes (as pack7Block4 does).
	MOVO X0, X8
	PUNPCKLBW X1, X8
	PUNPCKHBW X1, X0
	MOVO X2, X9
	PUNPCKLBW X3, X9
	PUNPCKHBW X3, X2
	MOVO X4, X10
	PUNPCKLBW X5, X10
	PUNPCKHBW X5, X4
	MOVO X6, X11
	PUNPCKLBW X7, X11
	PUNPCKHBW X7, X6

	MOVO X8, X1
	PUNPCKLWL X9, X1
	PUNPCKHWL X9, X8
	MOVO X0, X3
	PUNPCKLWL X2, X3
	PUNPCKHWL X2, X0
	MOVO X10, X5
	PUNPCKLWL X11, X5
	PUNPCKHWL X11, X10
	MOVO X4, X7
	PUNPCKLWL X6, X7
	PUNPCKHWL X6, X4

	MOVO X1, X2
	PUNPCKLLQ X5, X2 // bytes 0, 1
	PUNPCKHLQ X5, X1 // bytes 2, 3
	MOVO X8, X6
	PUNPCKLLQ X10, X6 // bytes 4, 5
	PUNPCKHLQ X10, X8 // bytes 6, 7
	MOVO X3, X9
	PUNPCKLLQ X7, X9 // bytes 8, 9
	PUNPCKHLQ X7, X3 // bytes 10, 11
	MOVO X0, X11
	PUNPCKLLQ X4, X11 // bytes 12, 13
	PUNPCKHLQ X4, X0 // bytes 14, 15

	BITS8(X2)
	BITS8(X1)
	BITS8(X6)
	BITS8(X8)
	BITS8(X9)
	BITS8(X3)
	BITS8(X11)
	BITS8(X0)

	// The next group: 8 rows on, the next byte of the wire rows.
	MOVQ DX, AX
	SHLQ $3, AX
	SUBQ AX, SI
	INCQ DI
	DECQ CX
	JNZ loop

done:
	RET
