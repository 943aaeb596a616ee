package engine_test

import (
	"slices"
	"strconv"
)

func itoa(n int) string { return strconv.Itoa(n) }

func contains(l []string, s string) bool { return slices.Contains(l, s) }
