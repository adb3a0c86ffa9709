package gateway

import "net"

// accepter accepts a listener's connections; close is called when the
// listener is closed.
type accepter interface {
	accept() (net.Conn, error)
	close()
}

// listenerAccepter is a listener's own Accept.
type listenerAccepter struct{ ln net.Listener }

func (a listenerAccepter) accept() (net.Conn, error) { return a.ln.Accept() }
func (a listenerAccepter) close()                    {}
