package rebind

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"syscall"
)

// Exec replaces the current process with argv, run with rebind.so preloaded
// so that its binds of oldPort move to loopback newPort: the reference's
// `rebind OLD_PORT NEW_PORT COMMAND` helper. argv[0] is looked up in PATH
// (no shell is involved) and the environment is [Env] of os.Environ().
//
// Because nothing runs after the exec, the shim comes from [Cached] (or the
// override), not from a temporary copy. On success Exec does not return; it
// returns an error only if the arguments are invalid, the shim cannot be
// provided, or the exec itself fails.
func Exec(oldPort, newPort int, argv []string, override string) error {
	if err := checkPort("old", oldPort); err != nil {
		return err
	}
	if err := checkPort("new", newPort); err != nil {
		return err
	}
	if len(argv) == 0 || argv[0] == "" {
		return errors.New("rebind: no command to run")
	}
	path, err := exec.LookPath(argv[0])
	if err != nil {
		return fmt.Errorf("rebind: %w", err)
	}
	lib, err := Cached(override)
	if err != nil {
		return err
	}
	env := Env(os.Environ(), lib, oldPort, newPort)
	if err := syscall.Exec(path, argv, env); err != nil {
		return fmt.Errorf("rebind: exec %s: %w", path, err)
	}
	return nil // not reached
}

func checkPort(which string, port int) error {
	if port < 1 || port > 65535 {
		return fmt.Errorf("rebind: %s port %d out of range 1-65535", which, port)
	}
	return nil
}
