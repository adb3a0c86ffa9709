package tests

// Differential tests against Debian's websockify 0.10.0 (the Python
// reference, /usr/bin/websockify), run side by side with ours on the same
// inputs (threats-and-tests.md plan row 48).
//
// Where the two agree, the test compares their answers. Where they differ on
// purpose, it asserts each one's behaviour; the differences are:
//
//	input                        reference 0.10.0                    ours
//	---------------------------  ----------------------------------  -----------------------------------
//	listen port already in use   Python traceback, exits 1 (later    one-line error, exits 1
//	                               versions log it and exit 0)
//	frame pipelined after the    lost (read into the HTTP buffer)    relayed to the target
//	  handshake request
//	Sec-WebSocket-Protocol:      400 (base64 removed in 0.9.0)       101, base64 subprotocol
//	  base64
//	Sec-WebSocket-Version: 8     101 (accepts 7, 8 and 13)           426 with Sec-WebSocket-Version: 13
//	close code 5000 (invalid)    echoed                              1002
//	RSV1 set, no extension       ignored, payload forwarded          1002, nothing forwarded
//	reserved opcode 0x3          1003 "Unsupported: Unknown opcode"  1002
//	fragmented ping              1003 "Unsupported: Fragmented ping" 1002
//	empty close frame            close 1005 (illegal on the wire)    empty close frame
//	POST without --web           501 (405 only in later versions)    405
//
// The reference forks a process per connection; every reference server
// runs in its own process group, which the cleanup ends.

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

const referenceBin = "/usr/bin/websockify"

// startReference runs the reference on a free loopback port with args
// after the listen address, and waits until it listens.
func startReference(t *testing.T, args ...string) *proxy {
	t.Helper()
	requireProgram(t, "websockify")
	addr := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	p := &proxy{t: t, addr: addr, stderr: newSyncBuffer(), stdout: newSyncBuffer(), done: make(chan struct{})}
	p.cmd = exec.Command(referenceBin, append([]string{addr}, args...)...)
	p.cmd.Stdout, p.cmd.Stderr = p.stdout, p.stderr
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start the reference: %v", err)
	}
	go func() {
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		pgid := p.cmd.Process.Pid
		syscall.Kill(pgid, syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(5 * time.Second):
		}
		syscall.Kill(-pgid, syscall.SIGKILL) // connection children left over
		<-p.done
		if t.Failed() {
			t.Logf("reference stderr:\n%s", p.stderr.String())
		}
	})
	p.stderr.waitFor(t, regexp.MustCompile(`proxying from \S+ to`), 20*time.Second)
	return p
}

type impl struct {
	name  string
	start func(t *testing.T, target string) *proxy
}

var impls = []impl{
	{"reference", func(t *testing.T, target string) *proxy { return startReference(t, target) }},
	{"ours", func(t *testing.T, target string) *proxy { return startProxy(t, "127.0.0.1:0", target) }},
}

// closeResult is what a client saw up to the server's close frame.
type closeResult struct {
	Code   int
	Reason string
	Data   string
}

// both runs f against each implementation and returns the results by name.
func both[R any](t *testing.T, target string, f func(t *testing.T, p *proxy) R) map[string]R {
	t.Helper()
	out := map[string]R{}
	for _, im := range impls {
		t.Run(im.name, func(t *testing.T) {
			out[im.name] = f(t, im.start(t, target))
		})
	}
	if len(out) != len(impls) {
		t.FailNow()
	}
	return out
}

// same checks that both implementations gave want.
func same[R comparable](t *testing.T, got map[string]R, want R) {
	t.Helper()
	for name, r := range got {
		if r != want {
			t.Errorf("%s: got %+v; want %+v", name, r, want)
		}
	}
}

// replyClose answers the server's close and waits for the TCP close.
func replyClose(rc *rawConn, code int) {
	rc.send(frame(true, 0, opClose, closePayload(code, ""), true))
	rc.expectTCPClose(10 * time.Second)
}

func TestDiffTargetClosed(t *testing.T) {
	be := startBackend(t, func(c net.Conn) { c.Write([]byte("banner from the target")) })
	got := both(t, be.addr(), func(t *testing.T, p *proxy) closeResult {
		rc := dialRaw(t, p.addr)
		code, reason, data := rc.expectClose(10 * time.Second)
		replyClose(rc, code)
		return closeResult{code, reason, string(data)}
	})
	same(t, got, closeResult{1000, "Target closed", "banner from the target"})
}

func TestDiffConnectFailure(t *testing.T) {
	got := both(t, fmt.Sprintf("127.0.0.1:%d", freePort(t)), func(t *testing.T, p *proxy) closeResult {
		rc := dialRaw(t, p.addr)
		code, reason, _ := rc.expectClose(10 * time.Second)
		rc.expectTCPClose(10 * time.Second)
		return closeResult{code, reason, ""}
	})
	same(t, got, closeResult{1011, "Failed to connect to downstream server", ""})
}

func TestDiffTextFrame(t *testing.T) {
	be := startBackend(t, nil)
	got := both(t, be.addr(), func(t *testing.T, p *proxy) closeResult {
		rc := dialRaw(t, p.addr)
		rc.echoOnce([]byte("binary is fine"))
		rc.sendFrame(opText, []byte("text is not"))
		code, reason, data := rc.expectClose(10 * time.Second)
		replyClose(rc, code)
		return closeResult{code, reason, string(data)}
	})
	same(t, got, closeResult{1003, "Unsupported: Text frames are not supported", ""})
}

func TestDiffClientCloseEcho(t *testing.T) {
	be := startBackend(t, nil)
	for _, code := range []int{1000, 1001, 3000, 4000, 4999} {
		t.Run(fmt.Sprint(code), func(t *testing.T) {
			got := both(t, be.addr(), func(t *testing.T, p *proxy) closeResult {
				rc := dialRaw(t, p.addr)
				rc.echoOnce([]byte("hello"))
				rc.send(frame(true, 0, opClose, closePayload(code, "bye"), true))
				c, reason, data := rc.expectClose(10 * time.Second)
				rc.expectTCPClose(10 * time.Second)
				return closeResult{c, reason, string(data)}
			})
			same(t, got, closeResult{code, "bye", ""})
		})
	}
}

func TestDiffUnmaskedFrame(t *testing.T) {
	be := startBackend(t, nil)
	got := both(t, be.addr(), func(t *testing.T, p *proxy) int {
		rc := dialRaw(t, p.addr)
		rc.send(frame(true, 0, opBinary, []byte("unmasked"), false))
		code, _, data := rc.expectClose(10 * time.Second)
		if len(data) > 0 {
			t.Errorf("unmasked payload echoed: %q", data)
		}
		replyClose(rc, code)
		return code
	})
	same(t, got, 1002)
}

func TestDiffPlainHTTP(t *testing.T) {
	type answer struct{ GET, HEAD, TRACE, POST int }
	got := both(t, "127.0.0.1:9", func(t *testing.T, p *proxy) answer {
		var a answer
		for _, m := range []struct {
			method string
			dst    *int
		}{{"GET", &a.GET}, {"HEAD", &a.HEAD}, {"TRACE", &a.TRACE}, {"POST", &a.POST}} {
			req, _ := http.NewRequest(m.method, "http://"+p.addr+"/", nil)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatalf("%s: %v", m.method, err)
			}
			resp.Body.Close()
			*m.dst = resp.StatusCode
		}
		return a
	})
	if got["reference"].GET != 405 || got["ours"].GET != 405 {
		t.Errorf("GET: %+v; want 405 from both", got)
	}
	if got["reference"].TRACE != 501 || got["ours"].TRACE != 501 {
		t.Errorf("TRACE: %+v; want 501 from both", got)
	}
	// Documented differences.
	if got["reference"].POST != 501 || got["ours"].POST != 405 {
		t.Errorf("POST: %+v; want 501 from the reference (0.10.0) and 405 from ours", got)
	}
}

func TestDiffSubprotocolBinary(t *testing.T) {
	be := startBackend(t, nil)
	got := both(t, be.addr(), func(t *testing.T, p *proxy) string {
		rc, resp := rawHandshake(t, p.addr, "/", "Sec-WebSocket-Protocol: binary")
		if resp.StatusCode != 101 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		rc.echoOnce([]byte("binary"))
		return resp.Header.Get("Sec-WebSocket-Protocol")
	})
	same(t, got, "binary")
}

func TestDiffUsageErrors(t *testing.T) {
	requireProgram(t, "websockify")
	for _, tc := range []struct {
		args []string
		msg  string
	}{
		{nil, "Too few arguments"},
		{[]string{"127.0.0.1:6080"}, "Too few arguments"},
		{[]string{"127.0.0.1:6080", "localhost"}, "Error parsing target"},
		{[]string{"127.0.0.1:6080", "localhost:vnc"}, "Error parsing target port"},
		{[]string{"127.0.0.1:x", "localhost:5900"}, "Error parsing listen port"},
		{[]string{"127.0.0.1:6080", "localhost:5900", "extra"}, "Too many arguments"},
		{[]string{"--no-such-option", "6080", "localhost:5900"}, "no such option: --no-such-option"},
	} {
		t.Run(tc.msg, func(t *testing.T) {
			for _, bin := range []string{referenceBin, wsBinary} {
				st, _, stderr := runCLI(t, bin, tc.args...)
				if st != 2 {
					t.Errorf("%s %q: exit status %d; want 2", bin, tc.args, st)
				}
				if !hasLineWith(stderr, errLine(tc.msg)) {
					t.Errorf("%s %q: stderr %q lacks %q", bin, tc.args, stderr, errLine(tc.msg))
				}
			}
		})
	}
}

// The deliberate differences, each implementation's side asserted.

func TestDiffBindFailure(t *testing.T) {
	requireProgram(t, "websockify")
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	st, _, stderr := runCLI(t, referenceBin, ln.Addr().String(), "127.0.0.1:9")
	if st != 1 || !strings.Contains(stderr, "Traceback") || !strings.Contains(stderr, "Address already in use") {
		t.Errorf("reference: exit %d, stderr %q; want exit 1 with a traceback", st, stderr)
	}
	st, _, stderr = runCLI(t, wsBinary, ln.Addr().String(), "127.0.0.1:9")
	if ls := lines(strings.TrimSpace(stderr)); st == 0 || len(ls) != 2 || !strings.HasPrefix(ls[1], "hint: ") {
		t.Errorf("ours: exit %d, stderr %q; want non-zero, one line and a hint", st, stderr)
	}
}

func TestDiffPipelinedFrame(t *testing.T) {
	be := startBackend(t, nil)
	got := both(t, be.addr(), func(t *testing.T, p *proxy) string {
		c, err := net.Dial("tcp", p.addr)
		if err != nil {
			t.Fatal(err)
		}
		req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
			"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
		rc, resp := rawHandshakeRaw(t, c, append([]byte(req), frame(true, 0, opBinary, []byte("pipelined;"), true)...))
		if resp.StatusCode != 101 {
			t.Fatalf("status %d", resp.StatusCode)
		}
		rc.sendFrame(opBinary, []byte("second"))
		var got []byte
		rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		for !bytes.HasSuffix(got, []byte("second")) {
			f, err := rc.readFrame()
			if err != nil {
				t.Fatalf("after %q: %v", got, err)
			}
			got = append(got, f.payload...)
		}
		return string(got)
	})
	if got["reference"] != "second" {
		t.Errorf("reference echoed %q; want the pipelined frame lost", got["reference"])
	}
	if got["ours"] != "pipelined;second" {
		t.Errorf("ours echoed %q; want both frames", got["ours"])
	}
}

// rawHandshakeRaw writes request bytes as they are and reads the response.
func rawHandshakeRaw(t *testing.T, c net.Conn, request []byte) (*rawConn, *http.Response) {
	t.Helper()
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(20 * time.Second))
	if _, err := c.Write(request); err != nil {
		t.Fatal(err)
	}
	rc := &rawConn{t: t, c: c, br: newReader(c)}
	resp, err := http.ReadResponse(rc.br, nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	rc.resp = resp
	return rc, resp
}

func TestDiffHandshakeVariants(t *testing.T) {
	be := startBackend(t, nil)
	type answer struct {
		Status   int
		Protocol string
		Version  string
	}
	for _, tc := range []struct {
		name      string
		header    string
		reference answer
		ours      answer
	}{
		{"base64 subprotocol", "Sec-WebSocket-Protocol: base64", answer{400, "", ""}, answer{101, "base64", ""}},
		{"version 8", "Sec-WebSocket-Version: 8", answer{101, "", ""}, answer{426, "", "13"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := both(t, be.addr(), func(t *testing.T, p *proxy) answer {
				c, err := net.Dial("tcp", p.addr)
				if err != nil {
					t.Fatal(err)
				}
				version := "13"
				extra := tc.header + "\r\n"
				if strings.HasPrefix(tc.header, "Sec-WebSocket-Version:") {
					version, extra = strings.TrimSpace(strings.TrimPrefix(tc.header, "Sec-WebSocket-Version:")), ""
				}
				req := "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
					"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: " + version + "\r\n" + extra + "\r\n"
				_, resp := rawHandshakeRaw(t, c, []byte(req))
				return answer{resp.StatusCode, resp.Header.Get("Sec-WebSocket-Protocol"), resp.Header.Get("Sec-WebSocket-Version")}
			})
			if got["reference"] != tc.reference {
				t.Errorf("reference: %+v; want %+v", got["reference"], tc.reference)
			}
			if got["ours"] != tc.ours {
				t.Errorf("ours: %+v; want %+v", got["ours"], tc.ours)
			}
		})
	}
}

func TestDiffFrameViolations(t *testing.T) {
	be, conns := recordingBackend(t, true)
	type outcome struct {
		Code   int    // of the server's close frame; 0 for an empty one
		Reason string // compared only when the expectation sets it
	}
	for _, tc := range []struct {
		name      string
		bad       []byte
		reference outcome
		ours      outcome
	}{
		{"invalid close code 5000", frame(true, 0, opClose, closePayload(5000, "x"), true),
			outcome{5000, "x"}, outcome{1002, ""}},
		{"reserved opcode 0x3", frame(true, 0, 3, []byte("op3"), true),
			outcome{1003, "Unsupported: Unknown opcode 0x03"}, outcome{1002, ""}},
		{"fragmented ping", concat(frame(false, 0, opPing, []byte("a"), true), frame(true, 0, opCont, []byte("b"), true)),
			outcome{1003, "Unsupported: Fragmented ping"}, outcome{1002, ""}},
		{"empty close", frame(true, 0, opClose, nil, true),
			outcome{1005, ""}, outcome{0, ""}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := both(t, be.addr(), func(t *testing.T, p *proxy) outcome {
				rc := dialRaw(t, p.addr)
				bc := nextConn(t, conns)
				rc.echoOnce([]byte("probe;"))
				rc.send(tc.bad)
				payload, data := rc.closeFrame(10 * time.Second)
				if len(data) > 0 {
					t.Errorf("data before the close: %q", data)
				}
				var o outcome
				if len(payload) >= 2 {
					o = outcome{int(binary.BigEndian.Uint16(payload)), string(payload[2:])}
				}
				if tc.bad[0]&0x0f != opClose {
					rc.send(frame(true, 0, opClose, closePayload(1000, ""), true)) // the reference waits for it
				}
				rc.expectTCPClose(10 * time.Second)
				if fw := bc.waitEnd(t, 10*time.Second); string(fw) != "probe;" {
					t.Errorf("backend received %q; want only the probe", fw)
				}
				return o
			})
			for name, want := range map[string]outcome{"reference": tc.reference, "ours": tc.ours} {
				o := got[name]
				if o.Code != want.Code || (want.Reason != "" && o.Reason != want.Reason) {
					t.Errorf("%s: close %d %q; want %d %q", name, o.Code, o.Reason, want.Code, want.Reason)
				}
			}
		})
	}
}

// TestDiffRSV1: the reference ignores RSV bits and forwards the payload;
// ours fails the connection and forwards nothing.
func TestDiffRSV1(t *testing.T) {
	be, conns := recordingBackend(t, true)
	got := both(t, be.addr(), func(t *testing.T, p *proxy) string {
		rc := dialRaw(t, p.addr)
		bc := nextConn(t, conns)
		rc.send(frame(true, 1, opBinary, []byte("rsv1"), true))
		rc.c.SetReadDeadline(time.Now().Add(10 * time.Second))
		f, err := rc.readFrame()
		if err != nil {
			t.Fatal(err)
		}
		rc.send(frame(true, 0, opClose, closePayload(1000, ""), true))
		rc.expectTCPClose(10 * time.Second)
		return fmt.Sprintf("op=%#x %q, backend %q", f.op, f.payload, bc.waitEnd(t, 10*time.Second))
	})
	if want := `op=0x2 "rsv1", backend "rsv1"`; got["reference"] != want {
		t.Errorf("reference: %s; want %s", got["reference"], want)
	}
	if !strings.HasPrefix(got["ours"], `op=0x8 "\x03\xea`) || !strings.HasSuffix(got["ours"], `backend ""`) {
		t.Errorf("ours: %s; want a 1002 close and nothing forwarded", got["ours"])
	}
}

// TestDiffRefusalStatusLine: an auth plugin's refusal reads the same on the
// status line of both ("403 Invalid Origin"), and so does a missing
// Basic-auth header's challenge.
func TestDiffRefusalStatusLine(t *testing.T) {
	be := startBackend(t, nil)
	for _, tc := range []struct {
		args  []string
		extra []string
		want  string
	}{
		{[]string{"--auth-plugin", "ExpectOrigin", "--auth-source", "http://good.example"},
			[]string{"Origin: http://evil.example"}, "403 Invalid Origin"},
		{[]string{"--auth-plugin", "BasicHTTPAuth", "--auth-source", "user:pass"},
			nil, "401 Unauthorized"},
	} {
		t.Run(tc.args[1], func(t *testing.T) {
			for name, p := range map[string]*proxy{
				"reference": startReference(t, append([]string{be.addr()}, tc.args...)...),
				"ours":      startProxy(t, append([]string{"127.0.0.1:0", be.addr()}, tc.args...)...),
			} {
				_, resp := rawHandshake(t, p.addr, "/", tc.extra...)
				if resp.Status != tc.want {
					t.Errorf("%s: status line %q; want %q", name, resp.Status, tc.want)
				}
			}
		})
	}
}
