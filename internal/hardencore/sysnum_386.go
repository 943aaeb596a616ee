package hardencore

// sysSeccomp is seccomp(2) on i386.
const sysSeccomp = 354
