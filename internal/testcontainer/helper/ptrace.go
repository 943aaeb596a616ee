package main

import (
	"strconv"

	"golang.org/x/sys/unix"
)

func init() {
	commands["ptrace-attach"] = ptraceAttach
}

// ptraceAttach seizes args[0] with ptrace and detaches again: what a
// container process would do to take over a runtime helper that entered
// the container (CVE-2016-9962). Prints "ok" or the errno's name.
func ptraceAttach(args []string) int {
	if len(args) != 1 {
		return 2
	}
	pid, err := strconv.Atoi(args[0])
	if err != nil {
		return 2
	}
	_, _, e := unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_SEIZE, uintptr(pid), 0, 0, 0, 0)
	if e == 0 {
		_, _, _ = unix.RawSyscall6(unix.SYS_PTRACE, unix.PTRACE_DETACH, uintptr(pid), 0, 0, 0, 0)
	}
	return report(0, e)
}
