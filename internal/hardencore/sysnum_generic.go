//go:build arm64 || riscv64 || loong64

package hardencore

// sysSeccomp is seccomp(2) on the architectures of asm-generic/unistd.h.
const sysSeccomp = 277
