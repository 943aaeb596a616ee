package hardencore

// capNameList names the capabilities of linux/capability.h by number, as
// libcap prints them (TestCapNamesMatchLibcap keeps them in step).
var capNameList = [...]string{
	"cap_chown", "cap_dac_override", "cap_dac_read_search", "cap_fowner",
	"cap_fsetid", "cap_kill", "cap_setgid", "cap_setuid", "cap_setpcap",
	"cap_linux_immutable", "cap_net_bind_service", "cap_net_broadcast",
	"cap_net_admin", "cap_net_raw", "cap_ipc_lock", "cap_ipc_owner",
	"cap_sys_module", "cap_sys_rawio", "cap_sys_chroot", "cap_sys_ptrace",
	"cap_sys_pacct", "cap_sys_admin", "cap_sys_boot", "cap_sys_nice",
	"cap_sys_resource", "cap_sys_time", "cap_sys_tty_config", "cap_mknod",
	"cap_lease", "cap_audit_write", "cap_audit_control", "cap_setfcap",
	"cap_mac_override", "cap_mac_admin", "cap_syslog", "cap_wake_alarm",
	"cap_block_suspend", "cap_audit_read", "cap_perfmon", "cap_bpf",
	"cap_checkpoint_restore",
}

// CapName returns the name of capability v ("cap_sys_admin"), or its
// number in decimal for one without a name.
func CapName(v uint) string {
	if v < uint(len(capNameList)) {
		return capNameList[v]
	}
	return utoa(uint64(v))
}

// CapNames lists the capabilities of a mask, comma-separated, for error
// messages.
func CapNames(mask uint64) string {
	s := ""
	for v := uint(0); v < 64; v++ {
		if mask&(1<<v) != 0 {
			if s != "" {
				s += ","
			}
			s += CapName(v)
		}
	}
	return s
}
