package listen

import (
	"fmt"
	"net"
	"os"

	"github.com/coreos/go-systemd/v22/activation"
)

// Activated returns the listening socket passed by systemd's socket
// activation (LISTEN_FDS and LISTEN_PID naming this process), or nil when
// none was passed. The variables are removed from the environment either
// way, so that programs started later do not take them for theirs.
// websockify serves one socket: more than one, or one that is not a
// listening stream socket, is an error.
func Activated() (net.Listener, error) {
	if os.Getenv("LISTEN_FDS") == "" {
		return nil, nil
	}
	files := activation.Files(true)
	if len(files) == 0 {
		return nil, nil // LISTEN_PID names another process
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()
	if len(files) > 1 {
		return nil, fmt.Errorf("systemd passed %d sockets (LISTEN_FDS); websockify serves one: give the .socket unit a single ListenStream=", len(files))
	}
	ln, err := net.FileListener(files[0])
	if err != nil {
		return nil, fmt.Errorf("the socket passed by systemd (LISTEN_FDS) is not a listening stream socket (ListenStream=): %w", err)
	}
	return ln, nil
}
