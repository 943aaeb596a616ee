// Package proc reads what nucleus needs to know about a process from procfs
// and wraps the few process-related system calls it relies on.
//
// It is a leaf package (standard library and golang.org/x/sys only) so that
// every other nucleus package, including the state model and the launch
// engine, can share one careful implementation of:
//
//   - /proc/PID/stat (ParseStat, ReadStat, StartTicks). The start time in
//     clock ticks (field 22) is what makes a PID a stable name: a PID can be
//     recycled after its process dies, the pair (PID, start ticks) cannot.
//     The comm field may contain spaces and ')' characters, so the line is
//     split at the LAST ')' (see proc(5)).
//   - /proc/PID/status (ParseStatus, ReadStatus): ids, capabilities,
//     no_new_privs, seccomp mode, NSpid and thread count. The kernel prints
//     uids and gids translated into the user namespace of whoever opened the
//     file, so these are host ids for a host caller.
//   - namespace identity (NamespaceID): the device and inode of
//     /proc/PID/ns/NAME. Two processes share a namespace exactly when these
//     are equal (namespaces(7)); comparing them decides which namespaces a
//     join has to enter and whether a target runs in its own user namespace.
//   - uid_map and gid_map (ParseIDMap, ReadIDMap, ToInside, ToOutside):
//     translation between the ids a caller sees and the ids a process sees
//     inside its user namespace (user_namespaces(7)).
//   - pidfds (PidfdOpen, PidfdSignal): a file descriptor that names one
//     process for its whole life, immune to PID reuse (pidfd_open(2), Linux
//     5.3; pidfd_send_signal(2), Linux 5.1).
//   - cgroup membership (Cgroups): every hierarchy listed in /proc/PID/cgroup
//     resolved to a directory on the caller's file system through
//     /proc/self/mountinfo, for cgroup v1, named v1 hierarchies and cgroup v2.
//
// Every function that takes a PID accepts 0 to mean the calling process
// (/proc/self) where documented. Errors name the step and the file.
package proc
