//go:build !linux

package rebind

func hasFileCaps(string) bool { return false }
