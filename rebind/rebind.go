package rebind

import (
	"strconv"
	"strings"
)

// Environment variables read by rebind.so and by this package.
const (
	// EnvOldPort names the port the wrapped program believes it binds.
	EnvOldPort = "REBIND_OLD_PORT"
	// EnvNewPort names the loopback port the bind is moved to.
	EnvNewPort = "REBIND_NEW_PORT"
	// EnvLibrary names an optional path to a rebind.so to use instead of
	// the embedded one (for example a build for another libc). The
	// package never reads it itself; callers pass its value as override.
	EnvLibrary = "WEBSOCKIFY_REBIND_SO"
	// envPreload is the dynamic loader's preload list.
	envPreload = "LD_PRELOAD"
)

// Env returns a copy of environ for a program whose binds of oldPort must be
// moved to newPort by the shim at lib. The result has LD_PRELOAD set to lib
// followed by the previous LD_PRELOAD entries (colon-separated, lib itself
// not repeated), and REBIND_OLD_PORT and REBIND_NEW_PORT set; earlier
// definitions of those three variables are dropped, and when LD_PRELOAD was
// defined more than once the last definition is kept, as the loader does.
// The three variables come last, every other entry keeps its order. environ
// is not modified. Env does not validate its arguments: lib should come from
// [Library] or [Cached], and both ports should be in 1-65535, or the shim
// disables itself.
func Env(environ []string, lib string, oldPort, newPort int) []string {
	out := make([]string, 0, len(environ)+3)
	var preload string
	for _, kv := range environ {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case envPreload:
			preload = v
		case EnvOldPort, EnvNewPort:
		default:
			out = append(out, kv)
		}
	}
	list := []string{lib}
	for _, p := range strings.FieldsFunc(preload, func(r rune) bool { return r == ':' || r == ' ' }) {
		if p != lib {
			list = append(list, p)
		}
	}
	return append(out,
		envPreload+"="+strings.Join(list, ":"),
		EnvOldPort+"="+strconv.Itoa(oldPort),
		EnvNewPort+"="+strconv.Itoa(newPort),
	)
}
