package rebind

import "golang.org/x/sys/unix"

// hasFileCaps reports whether the file at path carries file capabilities.
func hasFileCaps(path string) bool {
	n, err := unix.Getxattr(path, "security.capability", nil)
	return err == nil && n > 0
}
