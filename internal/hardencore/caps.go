package hardencore

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
