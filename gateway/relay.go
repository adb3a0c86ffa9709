package gateway

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// targetReadSize is the largest chunk read from the target, and so the
// largest frame sent to the client, as in the reference.
const targetReadSize = 64 << 10

var bufPool = sync.Pool{New: func() any {
	b := make([]byte, frameHeadroom+targetReadSize)
	return &b
}}

// b64Pool holds the buffers that base64-encode a target read.
var b64Pool = sync.Pool{New: func() any {
	b := make([]byte, frameHeadroom+base64.StdEncoding.EncodedLen(targetReadSize/4*3))
	return &b
}}

// session is one upgraded WebSocket connection and its target.
type session struct {
	srv      *Server
	raw      net.Conn // the accepted connection under client (TLS or not)
	rec      Recorder // nil unless recording
	client   net.Conn
	br       *bufio.Reader
	w        frameWriter
	base64   bool
	endpoint Endpoint
	target   net.Conn
	log      *slog.Logger
	traffic  *traffic

	deadlineMu sync.Mutex
	closingBy  time.Time // once set, reads from the client end by then
	heartbeat  *time.Timer
	ended      chan struct{}

	closeCode   ws.StatusCode // from the client's close frame
	closeReason string
}

func newSession(s *Server, c net.Conn, br *bufio.Reader, proto string, ep Endpoint, log *slog.Logger) *session {
	ss := &session{
		srv:      s,
		client:   c,
		br:       br,
		base64:   proto == ProtocolBase64,
		endpoint: ep,
		log:      log,
		ended:    make(chan struct{}),
	}
	ss.w.conn = c
	ss.w.batch = batchOf(c)
	ss.raw = c
	ss.w.timeout = s.writeTimeout()
	if s.Traffic != nil {
		ss.traffic = &traffic{w: s.Traffic}
	}
	return ss
}

// run dials the target and relays until both directions are done, or
// hands the session to an event loop (handedOff), which then relays it and
// calls finish when it ends.
func (ss *session) run() (handedOff bool) {
	defer func() {
		if !handedOff {
			close(ss.ended)
		}
	}()
	ss.log.Info("connecting to: " + ss.endpoint.String())
	target, handedOff, err := ss.srv.dialOnLoop(ss) // prints the legend if it connects
	if handedOff {
		return true
	}
	if target == nil && err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), ss.srv.dialTimeout())
		target, err = ss.endpoint.dial(ctx, ss.srv.dialTimeout())
		cancel()
		if err == nil {
			ss.traffic.legend()
			if ss.srv.relayOnLoop(ss, target) {
				return true
			}
		}
	}
	if err != nil {
		ss.log.Warn("Failed to connect to "+ss.endpoint.String(), "err", err)
		ss.w.sendClose(ws.StatusInternalServerError, "Failed to connect to downstream server")
		ss.lingerClient()
		return false
	}
	defer target.Close()
	ss.target = target

	if ss.srv.Heartbeat > 0 {
		ss.extendReadDeadline()
		ss.heartbeat = time.AfterFunc(time.Hour, ss.ping)
		ss.heartbeat.Reset(ss.srv.Heartbeat) // after the assignment ping reads
		defer ss.heartbeat.Stop()
	}

	toClient := make(chan struct{})
	go func() {
		defer close(toClient)
		ss.copyToClient()
	}()
	err = ss.copyToTarget()
	ss.logEnd(err, ss.w.isCloseSent())

	// The client side is done, and nothing more may be sent to it (our
	// close is out, or it is gone): end its TCP connection first, as RFC
	// 6455 asks of servers. The target sees EOF after everything the client
	// sent, and gets CloseTimeout to end its output, which is discarded.
	closeWrite(target)
	target.SetReadDeadline(time.Now().Add(ss.srv.closeTimeout()))
	ss.lingerClient()
	<-toClient
	return false
}

// finish releases what an ended session holds, once: the recorder, its
// place among the server's sessions and the accepted connection.
func (ss *session) finish() {
	if ss.srv.RunOnce {
		ss.log.Info("exiting due to --run-once")
	}
	if ss.rec != nil {
		ss.rec.Close()
	}
	ss.srv.removeSession(ss)
	ss.raw.Close()
	ss.srv.untrack(ss.raw)
}

// copyToTarget reads client frames and streams their payloads to the
// target until the client closes, fails or breaks the protocol.
func (ss *session) copyToTarget() error {
	rd := &wsutil.Reader{
		Source:         clientReader{ss},
		State:          ws.StateServerSide,
		MaxFrameSize:   ss.srv.maxFrameSize(),
		OnIntermediate: ss.handleControl,
	}
	for {
		hdr, err := rd.NextFrame()
		if err != nil {
			return ss.failRead(err)
		}
		if hdr.OpCode.IsControl() {
			if err := ss.handleControl(hdr, rd); err != nil {
				return ss.failRead(err)
			}
			if err := rd.Discard(); err != nil {
				return ss.failRead(err)
			}
			continue
		}
		if err := ss.checkDataOp(hdr.OpCode); err != nil {
			return ss.failRead(err)
		}
		var src io.Reader = rd
		if ss.base64 {
			src = base64.NewDecoder(base64.StdEncoding, rd)
		}
		// A buffer only while a message moves: an idle session holds none.
		bp := bufPool.Get().(*[]byte)
		err = ss.pump(src, (*bp)[:32<<10])
		bufPool.Put(bp)
		if err != nil {
			return err
		}
		ss.traffic.put("}")
	}
}

// pump copies one client message into the target.
func (ss *session) pump(src io.Reader, buf []byte) error {
	for {
		n, rerr := src.Read(buf)
		if n > 0 {
			if ss.rec != nil {
				ss.rec.ClientData(buf[:n])
			}
			if _, err := ss.target.Write(buf[:n]); err != nil {
				ss.closeWith(ws.StatusInternalServerError, "Target connection failed")
				return &targetError{err}
			}
			ss.traffic.put(">")
		}
		switch {
		case rerr == io.EOF:
			return nil
		case rerr != nil:
			var ce base64.CorruptInputError
			if errors.As(rerr, &ce) {
				rerr = &closeError{ws.StatusUnsupportedData, "Invalid base64 data", rerr}
			}
			return ss.failRead(rerr)
		}
	}
}

// checkDataOp enforces the negotiated frame type: binary frames normally,
// text frames carrying base64 in base64 mode.
func (ss *session) checkDataOp(op ws.OpCode) error {
	switch {
	case op == ws.OpBinary && !ss.base64, op == ws.OpText && ss.base64:
		return nil
	case op == ws.OpText:
		return &closeError{ws.StatusUnsupportedData, "Unsupported: Text frames are not supported", nil}
	default:
		return &closeError{ws.StatusUnsupportedData, "Unsupported: Binary frames are not supported in base64 mode", nil}
	}
}

// copyToClient reads the target and sends each chunk as one frame. After a
// failed client write it keeps reading and discards, so that the target is
// not reset while it still writes.
func (ss *session) copyToClient() {
	var bp, ep *[]byte // buffers, taken only while bytes move
	defer func() {
		if bp != nil {
			bufPool.Put(bp)
		}
		if ep != nil {
			b64Pool.Put(ep)
		}
	}()
	op := ws.OpBinary
	readSize := targetReadSize
	if ss.base64 {
		op = ws.OpText
		readSize = targetReadSize / 4 * 3
	}
	var rc syscall.RawConn
	if sc, ok := ss.target.(syscall.Conn); ok {
		rc, _ = sc.SyscallConn()
	}
	discard := false
	for {
		if bp != nil {
			bufPool.Put(bp)
		}
		if ep != nil {
			b64Pool.Put(ep)
		}
		bp, ep = nil, nil
		waitReadable(rc) // without a buffer, where the target allows
		bp = bufPool.Get().(*[]byte)
		buf := *bp
		n, rerr := ss.target.Read(buf[frameHeadroom : frameHeadroom+readSize])
		if n > 0 && !discard {
			ss.traffic.put("{")
			if ss.rec != nil {
				ss.rec.TargetData(buf[frameHeadroom : frameHeadroom+n])
			}
			frame := buf[:frameHeadroom+n]
			if ss.base64 {
				if ep == nil {
					ep = b64Pool.Get().(*[]byte)
				}
				enc := *ep
				m := base64.StdEncoding.EncodedLen(n)
				base64.StdEncoding.Encode(enc[frameHeadroom:], buf[frameHeadroom:frameHeadroom+n])
				frame = enc[:frameHeadroom+m]
			}
			if err := ss.w.writeFrame(op, frame); err != nil {
				if !errors.Is(err, errCloseSent) {
					ss.log.Debug("write to client failed", "err", err)
					ss.client.Close() // a partial frame may be out: nothing more can follow
				}
				discard = true
			} else {
				ss.traffic.put("<")
			}
		}
		if rerr == nil {
			continue
		}
		if discard {
			return
		}
		if rerr == io.EOF {
			ss.log.Debug(ss.endpoint.String() + ": Target closed connection")
			ss.closeWith(ws.StatusNormalClosure, "Target closed")
		} else {
			ss.log.Info(ss.endpoint.String()+": Target connection failed", "err", rerr)
			ss.closeWith(ws.StatusInternalServerError, "Target connection failed")
		}
		return
	}
}

// closeWith sends our close frame and gives the client CloseTimeout to
// answer it. It may be called from any goroutine.
func (ss *session) closeWith(code ws.StatusCode, reason string) {
	if ls := ss.w.handedOff(); ls != nil {
		ls.goAway(code, reason)
		return
	}
	sent, err := ss.w.sendClose(code, reason)
	if !sent {
		return
	}
	if err != nil {
		ss.client.Close()
		return
	}
	ss.setClosingDeadline()
}

func (ss *session) setClosingDeadline() {
	ss.deadlineMu.Lock()
	defer ss.deadlineMu.Unlock()
	if ss.closingBy.IsZero() {
		ss.closingBy = time.Now().Add(ss.srv.closeTimeout())
		ss.client.SetReadDeadline(ss.closingBy)
	}
}

// failRead turns an error from reading the client into the session's end,
// sending the close frame that the error calls for.
func (ss *session) failRead(err error) error {
	ce := closeErrorFor(err)
	if ce == nil {
		return err // the client closed, or the connection itself failed
	}
	ss.closeWith(ce.code, ce.reason)
	return ce
}

// closeErrorFor maps an error from reading client frames to the close frame
// it calls for; nil means none: the client closed properly, or the
// connection failed and there is nobody to tell.
func closeErrorFor(err error) *closeError {
	var ce *closeError
	var pe ws.ProtocolError
	switch {
	case errors.As(err, &ce):
		return ce
	case errors.Is(err, wsutil.ErrFrameTooLarge):
		return &closeError{ws.StatusMessageTooBig, "Frame too large", err}
	case errors.As(err, &pe):
		return &closeError{ws.StatusProtocolError, "Protocol error: " + string(pe), err}
	case errors.Is(err, ws.ErrHeaderLengthMSB), errors.Is(err, ws.ErrHeaderLengthUnexpected):
		return &closeError{ws.StatusProtocolError, "Protocol error: Invalid frame length", err}
	}
	return nil
}

// lingerClient closes the client connection the way RFC 6455 asks: the
// server ends TCP first, after giving the client a moment to read our close
// frame and to finish what it was sending.
func (ss *session) lingerClient() {
	closeWrite(ss.client)
	ss.client.SetReadDeadline(time.Now().Add(ss.srv.closeTimeout()))
	io.CopyN(io.Discard, ss.br, 1<<20)
	ss.client.Close()
}

func (ss *session) logEnd(err error, closeSent bool) {
	var ce *closeError
	switch {
	case err == nil, errors.Is(err, errPeerClosed):
		ss.log.Debug(ss.endpoint.String() + ": Client closed connection")
	case errors.As(err, &ce):
		ss.log.Info("closing session", "code", int(ce.code), "reason", ce.reason, "err", ce.err)
	default:
		var te *targetError
		if errors.As(err, &te) {
			ss.log.Info(ss.endpoint.String()+": Target write failed", "err", te.err)
		} else if closeSent {
			ss.log.Debug("client gone after close", "err", err)
		} else {
			ss.log.Info("client connection lost", "err", err)
		}
	}
}

// closeError is a reason to close the session with a given code.
type closeError struct {
	code   ws.StatusCode
	reason string
	err    error
}

func (e *closeError) Error() string { return e.reason }
func (e *closeError) Unwrap() error { return e.err }

// targetError marks a failed write to the target.
type targetError struct{ err error }

func (e *targetError) Error() string { return "write to target: " + e.err.Error() }
func (e *targetError) Unwrap() error { return e.err }

func closeWrite(c net.Conn) {
	if cw, ok := c.(interface{ CloseWrite() error }); ok {
		cw.CloseWrite()
	}
}
