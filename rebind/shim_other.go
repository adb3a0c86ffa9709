//go:build !amd64 && !arm64

package rebind

// shim is empty where no compiled rebind.so is committed: wrapping a
// program then needs --rebind-so FILE (or $WEBSOCKIFY_REBIND_SO).
var shim []byte
