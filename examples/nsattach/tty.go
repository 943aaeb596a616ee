package main

import (
	"os"
	"os/signal"

	"golang.org/x/sys/unix"
)

// terminal prepares the caller's terminal for a command given its own
// pseudo-terminal (-t): when nsattach's stdin is a terminal it is put in raw
// mode (the command's terminal does the line editing and turns ^C into
// SIGINT, as with ssh or docker exec -t), and console gets its window size,
// again at every SIGWINCH. The returned function restores the terminal.
func terminal(console *os.File) (restore func()) {
	in := int(os.Stdin.Fd())
	saved, err := unix.IoctlGetTermios(in, unix.TCGETS)
	if err != nil || console == nil {
		return func() {} // not a terminal: nothing to adapt
	}
	raw := *saved
	raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	raw.Oflag &^= unix.OPOST
	raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	raw.Cflag &^= unix.CSIZE | unix.PARENB
	raw.Cflag |= unix.CS8
	raw.Cc[unix.VMIN], raw.Cc[unix.VTIME] = 1, 0
	_ = unix.IoctlSetTermios(in, unix.TCSETS, &raw)

	resize := func() {
		if ws, err := unix.IoctlGetWinsize(in, unix.TIOCGWINSZ); err == nil {
			_ = unix.IoctlSetWinsize(int(console.Fd()), unix.TIOCSWINSZ, ws)
		}
	}
	resize()
	winch := make(chan os.Signal, 1)
	signal.Notify(winch, unix.SIGWINCH)
	done := make(chan struct{})
	go func() {
		for {
			select {
			case <-winch:
				resize()
			case <-done:
				return
			}
		}
	}()
	return func() {
		signal.Stop(winch)
		close(done)
		_ = unix.IoctlSetTermios(in, unix.TCSETS, saved)
	}
}
