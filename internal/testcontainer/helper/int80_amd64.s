#include "textflag.h"

// func int80(trap, a1, a2, a3 uintptr) (r uintptr)
//
// Makes a system call through the i386 entry (int $0x80) from this 64-bit
// process: the kernel then reports AUDIT_ARCH_I386 to seccomp filters and
// uses the i386 syscall numbers. AX holds the number and receives the
// result (a negative errno on failure); BX, CX, DX are the first arguments.
TEXT ·int80(SB), NOSPLIT, $0-40
	MOVQ trap+0(FP), AX
	MOVQ a1+8(FP), BX
	MOVQ a2+16(FP), CX
	MOVQ a3+24(FP), DX
	INT  $0x80
	MOVQ AX, r+32(FP)
	RET
