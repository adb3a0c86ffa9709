package gateway

import "fmt"

// Relay names a driver of sessions. Either carries any session: the
// protocol is core's (internal/core), the drivers only move bytes.
type Relay uint8

const (
	// RelayAuto is the epoll driver on Linux, the goroutine relay
	// elsewhere.
	RelayAuto Relay = iota
	// RelayEpoll relays sessions on a few event loops (Linux): an idle
	// session holds no goroutine and no buffer, bulk target output goes
	// to the client by splice(2). Sessions to TLS targets still use the
	// goroutine relay: a loop would need a second non-blocking TLS
	// client.
	RelayEpoll
	// RelayGoroutines relays every session with two goroutines.
	RelayGoroutines
)

var relayNames = [...]string{"auto", "epoll", "goroutines"}

func (r Relay) String() string {
	if int(r) < len(relayNames) {
		return relayNames[r]
	}
	return fmt.Sprintf("Relay(%d)", r)
}

// ParseRelay parses a --relay value: auto, epoll or goroutines.
func ParseRelay(s string) (Relay, error) {
	for i, n := range relayNames {
		if s == n {
			return Relay(i), nil
		}
	}
	return RelayAuto, fmt.Errorf("unknown relay %q (auto, epoll or goroutines)", s)
}

// Relays lists the values ParseRelay takes.
func Relays() []string { return relayNames[:] }
