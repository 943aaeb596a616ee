//go:build bigembed

package main

// padding makes the binary 50 MiB larger: an initialised (so not .bss)
// array, which the linker keeps because keep reads it.
var padding = [50 << 20]byte{1}

// keep reads padding at an index the compiler cannot know, so neither the
// compiler nor the linker can drop it.
func keep(i int) {
	if i > len(padding) {
		println(padding[i%len(padding)])
	}
}

func paddingSize() int { return len(padding) }
