// Package rebind is the Go side of rebind.so, the LD_PRELOAD shim that lets
// websockify wrap a program: the program binds its usual port, the shim moves
// that bind to a loopback port, and websockify listens on the original port
// and relays to the loopback one.
//
// The shim is built from rebind.c at the repository root by `make generate`
// (or `go generate ./rebind`) into rebind_amd64.so and rebind_arm64.so, which
// are committed and embedded per GOARCH with go:embed, so the binary is
// self-contained, no cgo is involved and `go install` needs no C compiler. [Library] and [Cached] put the embedded
// copy (or an override, for example from [EnvLibrary]) on disk, [Env] builds
// the environment for the wrapped program and [Exec] replaces the current
// process with a rebound program, like the reference's `rebind` script.
//
// What the shim does with a TCP bind to port REBIND_OLD_PORT:
//
//   - AF_INET, any address: moved to 127.0.0.1:REBIND_NEW_PORT.
//   - AF_INET6, any address: moved to [::1]:REBIND_NEW_PORT, with
//     IPV6_V6ONLY set first, flowinfo kept and scope_id cleared.
//   - Everything else (other ports, port 0, UDP, other families, NULL or
//     short addresses) is passed through untouched, and errno is whatever
//     the real bind set.
//
// Dual stack: a program that binds both 0.0.0.0:P and [::]:P starts, with one
// socket on 127.0.0.1:new and one on [::1]:new. Two binds of the same family
// on P (0.0.0.0:P and 127.0.0.1:P, or two processes) meet on one loopback
// address, and the second fails with EADDRINUSE. A caller that only dials
// 127.0.0.1:new misses a program that listens on IPv6 only; dial whichever
// address the program is actually listening on.
//
// Inheritance: the shim leaves LD_PRELOAD and the REBIND_* variables in the
// environment, so every dynamically linked descendant is rebound too. This
// keeps `sh -c 'exec server'` and vncserver (which starts Xvnc) working; a
// descendant that binds the old port a second time gets EADDRINUSE.
//
// Limits: LD_PRELOAD is ignored by statically linked programs, Go programs
// (they do not call libc's bind), setuid/setgid or file-capability programs
// run by another user (secure-execution mode) and programs of another ELF
// class or libc (a 32-bit or musl program cannot load a 64-bit glibc shim).
// The program's getsockname reports the new loopback address.
//
// The variables are parsed once when the shim loads; an invalid value (not a
// whole base-10 number in 1-65535) disables the shim with one line on stderr.
package rebind

//go:generate make -C .. generate
