// Package gateway bridges WebSocket clients to stream targets (TCP or Unix
// sockets), the core of websockify.
//
// A Server accepts connections on a net.Listener, reads one HTTP request per
// connection under a single pre-upgrade deadline and a header byte cap,
// upgrades WebSocket requests with gobwas/ws and relays bytes both ways:
//
//   - client → target: frame payloads are streamed straight into the target
//     socket, never buffered as whole frames or messages, so a session's
//     memory does not depend on what the client declares;
//   - target → client: every read from the target becomes one unfragmented
//     frame (binary, or text carrying base64 with the "base64" subprotocol).
//
// # Design
//
// A session's protocol lives once, in internal/core, which does no I/O: the
// frame parser, unmasking, the frame size cap, the negotiated frame type,
// ping → pong, the close handshake and every close code, base64, heartbeat
// and close deadlines, the recorder and --traffic hooks, and why the session
// ended. Two drivers move the bytes and call it; a session lives on one of
// them from its upgrade to its end:
//
//	         accept, sniff (TLS?), HTTP request, upgrade   (handshake.go)
//	                                │
//	                       session (session.go)
//	           ┌────────────────────┴────────────────────┐
//	goroutine relay (relay.go)              epoll driver (poll*_linux.go)
//	two goroutines, blocking I/O,           non-blocking I/O on a loop of
//	a lock around core                      internal/epoll; splice(2) for
//	           │                            bulk target output, crypto/tls
//	           │                            without blocking (polltls)
//	           └──────────── internal/core.Session ───────────┘
//	              bytes and events in; payloads, frames for the
//	              client, deadlines and the session's end out
//
// Server.Relay picks the driver (--relay): the epoll driver on Linux by
// default, where an idle session holds no goroutine and no buffer; the
// goroutine relay elsewhere, on request, for sessions to TLS targets (the
// loops have no non-blocking TLS client) and when the loops cannot start.
// Either carries plain and TLS clients, binary and base64 sessions; the
// package's tests run every behaviour on both and check that the two agree.
//
// Imports go one way: gateway → internal/core and internal/epoll, which
// import neither gateway nor each other.
//
// Protocol violations close the connection with 1002, unsupported data with
// 1003 and oversized frames with 1009. When the target ends, everything it
// sent reaches the client before a 1000 close; when the client closes,
// everything it sent before the close reaches the target before the target
// sees EOF. A session's memory is bounded whatever its peers do.
//
// The zero value of Server is usable once Target or Route is set; every other
// field has a documented default.
package gateway
