//go:build ppc64 || ppc64le

package hardencore

// sysSeccomp is seccomp(2) on POWER.
const sysSeccomp = 358
