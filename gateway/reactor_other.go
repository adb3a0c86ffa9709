//go:build !linux

package gateway

import (
	"errors"
	"net"
)

// reactor is Linux-only; elsewhere every session uses the goroutine relay.
type reactor struct{}

func (r *reactor) stop() {}

// relayOnLoop never takes a session outside Linux.
func (s *Server) relayOnLoop(ss *session, target net.Conn) bool { return false }

// dialOnLoop leaves the dialling to the caller outside Linux.
func (s *Server) dialOnLoop(ss *session) (target net.Conn, handedOff bool, err error) {
	return nil, false, nil
}

// startLoops refuses the epoll driver outside Linux.
func (s *Server) startLoops() error {
	if s.Relay == RelayEpoll {
		return errors.New("gateway: the epoll relay is Linux-only")
	}
	return nil
}

// newAccepter is the listener itself outside Linux.
func newAccepter(ln net.Listener) accepter { return listenerAccepter{ln} }
