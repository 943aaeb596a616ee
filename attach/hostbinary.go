package attach

import "nucleus/internal/launch"

// ErrDynamicBinary is the refusal of a dynamically linked host binary
// (WithHostBinary): inside the container it would load the container's
// ld.so and libc, code the container controls (CVE-2019-14271, docker cp
// loading the container's libnss). Test for it with errors.Is.
var ErrDynamicBinary = launch.ErrDynamicBinary

// ErrNotELF is the refusal of a host binary that is not an ELF executable
// of this machine; scripts (#!) are refused because their interpreter
// would be the container's.
var ErrNotELF = launch.ErrNotELF

// WithHostBinary runs the host file at path inside the container instead
// of looking cmd[0] up there: for images without a shell or the tool
// needed (a static busybox, a curl, a grpc_health_probe). cmd is its argv,
// so cmd[0] is what the program sees as its name (busybox picks its applet
// from it). The path is resolved and opened on the host before anything is
// joined and checked to be a regular, executable, statically linked ELF
// file; the child executes that open file by descriptor after joining every
// namespace and hardening, so the container can neither swap it nor see its
// host path, and the descriptor is not inherited by the program. The
// default Landlock policy gets a rule granting execute on that file alone.
func WithHostBinary(path string) Option {
	return Option{func(r *launch.Request) { r.HostBinary = path }}
}

// WithDynamicHostBinary accepts a dynamically linked WithHostBinary file.
// It then runs with the container's ld.so and libraries: only for a
// container that is trusted, or whose libraries are what the binary wants.
func WithDynamicHostBinary() Option {
	return Option{func(r *launch.Request) { r.HostBinaryDynamic = true }}
}
