package hardencore

// sysSeccomp is seccomp(2) on x86-64.
const sysSeccomp = 317
