// Package daemon puts websockify in the background (-D) once its listener
// is bound, and writes its pid file (--pid-file).
//
// A Go program cannot fork, so Detach re-executes the binary with the same
// arguments, in a new session, with the bound listener as file descriptor 3
// and the write end of a readiness pipe as descriptor 4. The parent waits
// until the child reports, through Child's notify function, that it is
// ready or that it failed, then returns so that the caller can exit: 0 when
// ready, and the child's error and exit status otherwise. Errors met after
// the re-exec therefore still reach the terminal, and nothing the child
// starts (a wrapped program, say) belongs to the parent.
//
// Until it reports, the child keeps the parent's stdout and stderr, so its
// startup messages show; from then on its standard descriptors are on
// /dev/null and its working directory is /. Paths from the command line must
// therefore be absolute by then. The umask is left as it was, so files the
// daemon creates keep their intended modes.
//
// A Unix listener passed to Detach is not unlinked when the parent closes it.
package daemon
