// Package core is the WebSocket side of a websockify session, with no I/O:
// one Session owns a session's protocol state and makes its decisions.
//
// Bytes and events go in: client bytes (Client), a read from the target
// (TargetFrame, TargetHeader), the end of either side (ClientEnded,
// TargetEnded), a failed write, the time (Tick), a close asked from
// outside (Close). Out come the target-bound payloads, the frames for the
// client (Pending), the next deadline (Deadline) and, once decided, why
// the session ended (End).
//
// Drivers move the bytes: gateway's goroutine relay and its Linux event
// loop feed their sockets to a Session and write what it returns. The
// rules live here once: the resumable frame parser and unmasking, the
// maximum frame size, the negotiated frame type, ping → pong, the close
// handshake and every close code, the base64 subprotocol, heartbeat and
// close deadlines, and the --record and --traffic hooks.
//
// A Session is not safe for concurrent use: a driver calls it from one
// goroutine at a time.
package core
