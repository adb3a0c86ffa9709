//go:build !linux

package listen

import "net"

// listenConfig leaves keep-alive to Go, which sets it on every accepted
// connection.
func listenConfig() net.ListenConfig { return net.ListenConfig{} }
