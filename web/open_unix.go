//go:build unix

package web

import (
	"os"
	"syscall"
)

// openFlags open a FIFO or device without blocking, so that a special file
// under the root cannot stall a request; such files are then refused.
const openFlags = os.O_RDONLY | syscall.O_NONBLOCK | syscall.O_NOCTTY
