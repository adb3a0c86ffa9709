package supervisor

import "fmt"

// Mode says what happens when the wrapped program exits. The names and the
// default follow the reference's --wrap-mode option.
type Mode string

const (
	// ModeExit stops supervising and makes Run return an *ExitError with
	// the program's status. It is the default (the zero Mode).
	ModeExit Mode = "exit"
	// ModeIgnore logs the exit and keeps going until the context ends; it
	// suits programs that daemonize (vncserver). Processes the program
	// left behind are still stopped when Run returns.
	ModeIgnore Mode = "ignore"
	// ModeRespawn restarts the program on the same port after a backoff.
	ModeRespawn Mode = "respawn"
)

// ParseMode returns the Mode named s. The empty string means ModeExit.
func ParseMode(s string) (Mode, error) {
	switch m := Mode(s); m {
	case "":
		return ModeExit, nil
	case ModeExit, ModeIgnore, ModeRespawn:
		return m, nil
	}
	return "", fmt.Errorf("invalid wrap mode %q (valid modes: exit, ignore, respawn)", s)
}

// String returns the mode's name; the zero Mode is "exit".
func (m Mode) String() string {
	if m == "" {
		return string(ModeExit)
	}
	return string(m)
}

// Set parses s into m, so that *Mode is a flag.Value.
func (m *Mode) Set(s string) error {
	v, err := ParseMode(s)
	if err != nil {
		return err
	}
	*m = v
	return nil
}
