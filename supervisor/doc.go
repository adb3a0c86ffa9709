// Package supervisor runs the program websockify wraps
// (`websockify PORT -- PROGRAM ARGS`) and supervises it.
//
// A [Process] is configured through its fields and started with
// [Process.Run], which blocks until the program and everything it started
// are gone:
//
//	p := &supervisor.Process{
//		Argv:    []string{"vncserver", ":1"},
//		Environ: func(port int) []string { return rebind.Env(os.Environ(), lib, 5901, port) },
//		Mode:    supervisor.ModeIgnore,
//		Logger:  logger,
//	}
//	err := p.Run(ctx) // dial p.Addr() to reach the program
//
// Guarantees:
//
//   - The program is started without a shell (argv[0] looked up in PATH), in
//     its own process group, with inherited standard files and the default
//     SIGPIPE disposition. Its parent-death signal is SIGTERM.
//   - Run makes this process a child subreaper (PR_SET_CHILD_SUBREAPER), so
//     descendants that daemonize (setsid and double fork) are re-parented
//     here and found through /proc. When ctx ends, in ModeExit once the
//     program has exited, and in ModeRespawn before each restart, the
//     program's group and all such descendants get SIGTERM (and SIGCONT),
//     then SIGKILL after Grace. Run never returns while one is still alive
//     (it gives up with an error only if SIGKILL does not work within 5 s).
//   - One goroutine, Run's, reaps every child with wait4(-1), so no exit
//     status is lost and re-parented daemons never linger as zombies. The
//     price: while Run is active, no other code in this OS process may
//     start and wait for children (os/exec's Wait would fail with ECHILD),
//     and only one Process can run at a time ([ErrBusy]).
//   - Exit statuses are reported as [ExitError], with 128+N for death by
//     signal N, through [Process.OnExit] and, in ModeExit, Run's result.
//   - After each start, Run waits for the program to listen on
//     127.0.0.1:Port or [::1]:Port. It checks the kernel's socket table
//     (netlink sock_diag, /proc/net/tcp as a fallback) and accepts only a
//     socket that one of its descendants holds open; it never connects,
//     since a probe would open a session in a VNC server or telnetd. When
//     found it logs "wrapped program is listening on ADDR", updates
//     [Process.Addr] and calls [Process.OnReady].
//   - Given a [Process.Check] (rebind.CheckPreload), Run first asks it
//     whether the program will take its LD_PRELOAD, and logs one line if it will ignore
//     LD_PRELOAD (static, Go, setuid/setgid or file-capability, other ELF
//     class or libc). If the program is not listening after ReadyTimeout,
//     or exits before it listened, the log line says so and what was seen:
//     the reason the loader ignores LD_PRELOAD, else the addresses the
//     program listens on instead, or its exit status and run time
//     ([Process.Diagnosis] returns the last such line).
//   - In ModeRespawn, StartLimit failed starts in a row end Run with the
//     last exit status, like systemd's start limit.
//   - With Port zero, Run picks a free loopback port and, if the program
//     exits without listening because another program holds that port,
//     starts it again on a new port (at most 3 times in a row).
//
// Modes ([Mode], the reference's --wrap-mode):
//
//   - ModeExit (default): when the program exits, stop what it left and
//     return its *ExitError (also for status 0).
//   - ModeIgnore: log "wrapped program exited (or daemonized)" and keep
//     going (watching for a daemon to listen) until ctx ends.
//   - ModeRespawn: restart on the same port after 1 s, doubling up to 30 s,
//     back to 1 s once a run lasted 10 s. Every restart is logged with the
//     last status, the uptime and the delay, so a crash loop is visible.
//
// Only Linux is supported; elsewhere Run returns errors.ErrUnsupported.
package supervisor
