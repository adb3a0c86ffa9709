// Package probe is "websockify probe URL": it opens one WebSocket
// connection to a websockify (or any WebSocket server), optionally sends
// data and waits for an expected answer, and reports what went wrong in
// one line. It is meant for scripts: a CI job that starts a daemon with
// -D and checks that it relays before running its tests.
package probe

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"
)

// Options is one probe.
type Options struct {
	URL      string        // ws:// or wss://
	Send     []byte        // sent as one binary message after the handshake, if not nil
	Expect   []byte        // data that must arrive (anywhere in the received bytes), if not nil
	Timeout  time.Duration // bounds the whole probe; zero means 10 s
	Insecure bool          // wss:// without verifying the certificate (self-signed)
	CAFile   string        // CA certificates to verify the server with instead of the system's
	Origin   string        // Origin header, if not empty
}

// Result is what a successful probe saw.
type Result struct {
	Protocol string        // the subprotocol the server chose
	Received []byte        // data received until Expect matched (nil without Expect)
	Took     time.Duration // handshake, exchange and close
}

// Run probes o.URL. The error says which step failed and why.
func Run(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	u, err := url.Parse(o.URL)
	if err != nil {
		return nil, fmt.Errorf("URL %q: %w", o.URL, err)
	}
	if u.Scheme != "ws" && u.Scheme != "wss" {
		return nil, fmt.Errorf("URL %q: the scheme must be ws:// or wss://", o.URL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("URL %q: no host", o.URL)
	}
	timeout := o.Timeout
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()

	d := ws.Dialer{Protocols: []string{"binary"}}
	if u.Scheme == "wss" {
		cfg, err := tlsConfig(o)
		if err != nil {
			return nil, err
		}
		d.TLSConfig = cfg
	}
	if o.Origin != "" {
		d.Header = ws.HandshakeHeaderHTTP{"Origin": []string{o.Origin}}
	}
	var status string
	d.OnStatusError = func(code int, reason []byte, resp io.Reader) {
		status = fmt.Sprintf("HTTP %d %s", code, reason)
		body, _ := io.ReadAll(io.LimitReader(resp, 4096))
		if msg := errorMessage(body); msg != "" {
			status += ": " + msg
		}
	}
	conn, br, hs, err := d.Dial(ctx, o.URL)
	if err != nil {
		if status != "" {
			return nil, fmt.Errorf("handshake with %s refused: %s", u.Host, status)
		}
		var oe *net.OpError
		if errors.As(err, &oe) && oe.Op == "dial" {
			return nil, fmt.Errorf("connect to %s: %w", u.Host, describe(err, timeout))
		}
		return nil, fmt.Errorf("handshake with %s failed (is it a WebSocket server?): %w", u.Host, describe(err, timeout))
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	var r io.Reader = conn
	if br != nil {
		r = io.MultiReader(br, conn)
		defer ws.PutReader(br)
	}
	res := &Result{Protocol: hs.Protocol}
	if o.Send != nil {
		if err := wsutil.WriteClientBinary(conn, o.Send); err != nil {
			return nil, fmt.Errorf("send: %w", describe(err, timeout))
		}
	}
	if o.Expect != nil {
		rd := wsutil.NewClientSideReader(struct {
			io.Reader
			io.Writer
		}{r, conn})
		for !bytes.Contains(res.Received, o.Expect) {
			msg, err := readData(rd)
			res.Received = append(res.Received, msg...)
			if err != nil {
				return res, fmt.Errorf("expected %s, received %s: %w", quote(o.Expect), quote(res.Received), describe(err, timeout))
			}
		}
	}
	// A clean goodbye: our close, and the server's answer if it comes soon.
	_ = ws.WriteFrame(conn, ws.MaskFrameInPlace(ws.NewCloseFrame(ws.NewCloseFrameBody(ws.StatusNormalClosure, ""))))
	conn.SetReadDeadline(time.Now().Add(time.Second))
	_, _ = io.Copy(io.Discard, r)
	res.Took = time.Since(start)
	return res, nil
}

// readData reads the payload of the next data message, skipping control
// frames; a close frame ends the probe with its code and reason.
func readData(rd *wsutil.Reader) ([]byte, error) {
	for {
		hdr, err := rd.NextFrame()
		if err != nil {
			return nil, err
		}
		if hdr.OpCode == ws.OpClose {
			body, _ := io.ReadAll(rd)
			code, reason := ws.ParseCloseFrameData(body)
			return nil, fmt.Errorf("the server closed the connection (%d %s)", code, reason)
		}
		if hdr.OpCode.IsControl() {
			if err := rd.Discard(); err != nil {
				return nil, err
			}
			continue
		}
		return io.ReadAll(rd)
	}
}

func tlsConfig(o Options) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: o.Insecure}
	if o.CAFile != "" {
		pem, err := os.ReadFile(o.CAFile)
		if err != nil {
			return nil, fmt.Errorf("--cafile: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--cafile %s: no PEM certificate in it", o.CAFile)
		}
		cfg.RootCAs = pool
	}
	return cfg, nil
}

// describe adds a hint to the errors a script author meets most.
func describe(err error, timeout time.Duration) error {
	var ne net.Error
	var ve *tls.CertificateVerificationError
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Errorf("no answer within %v (--timeout): %w", timeout, err)
	case errors.As(err, &ve):
		return fmt.Errorf("%w\nhint: for a self-signed certificate use --insecure or --cafile FILE", err)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return fmt.Errorf("the connection was closed: %w", err)
	}
	return err
}

// errorMessage extracts "Message: ..." from websockify's HTML error page.
func errorMessage(body []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if i := strings.Index(line, "Message: "); i >= 0 {
			msg := strings.TrimSuffix(strings.TrimSuffix(line[i+len("Message: "):], "</p>"), ".")
			return msg
		}
	}
	return ""
}

// quote shows data for a message, shortened.
func quote(b []byte) string {
	if len(b) > 200 {
		return fmt.Sprintf("%q... (%d bytes)", b[:200], len(b))
	}
	return fmt.Sprintf("%q", b)
}
