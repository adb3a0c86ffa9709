//go:build !unix

package web

import "os"

const openFlags = os.O_RDONLY
