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
// Control frames are answered by the server itself (ping → pong, close →
// echoed close) through the single writer of the connection. Protocol
// violations close the connection with 1002, unsupported data with 1003 and
// oversized frames with 1009. When the target ends, everything it sent
// reaches the client before a 1000 close; when the client closes, everything
// it sent before the close reaches the target before the target sees EOF.
//
// Two relays carry sessions, with the same behaviour:
//
//   - On Linux, binary sessions (ws:// and wss://) to TCP or Unix targets
//     go to a few event loops (Server.EventLoops, GOMAXPROCS by default):
//     epoll on both sockets, edge-triggered, a resumable frame parser, and
//     buffers taken from pools only while bytes move, so an idle session
//     holds no goroutine and no buffer (wss:// sessions keep crypto/tls's
//     state). Bulk target output of ws:// sessions goes to the client by
//     splice(2) behind frame headers written into the pipe; wss:// sessions
//     run crypto/tls over a connection that never blocks (polltls_linux.go).
//     A session's memory is bounded whatever its peers do: what waits for a
//     slow side is at most one read (1 MiB, 64 KiB once that side has pushed
//     back) and one splice batch or one frame's records.
//   - Everything else (the base64 subprotocol, TLS targets, other systems,
//     connections that are not sockets) uses two goroutines per session,
//     which also hold buffers only while bytes move.
//
// The zero value of Server is usable once Target or Route is set; every other
// field has a documented default.
package gateway
