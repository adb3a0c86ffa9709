package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// proxySpec is one proxy under test.
type proxySpec struct {
	name string
	// path is a websockify-compatible binary, run as
	// `path [--cert C --key K] 127.0.0.1:PORT TARGET`, or a command line
	// with the placeholders {listen}, {port} and {target}. Empty means the
	// plain relay, wsbench's own `relay` subcommand.
	path string
	// plain marks a proxy that relays raw TCP, without WebSocket.
	plain bool
	// forks marks a proxy that forks a process per connection (the
	// reference): it gets fewer idle sessions.
	forks bool
	// args are extra options for a websockify-compatible binary (not for
	// the plain relays), e.g. --heartbeat 30.
	args []string
	// conf, if set, is a configuration file written for every start, with
	// the placeholders {port} and {target}; {conf} in path is its name.
	conf string
}

// withArgs returns s with the extra options args.
func (s proxySpec) withArgs(args ...string) proxySpec {
	s.args = append(append([]string(nil), s.args...), args...)
	return s
}

func (s proxySpec) raw() bool { return s.path == "" || s.plain }

// proxyProc is a running proxy, in its own process group.
type proxyProc struct {
	spec proxySpec
	cmd  *exec.Cmd
	addr string
	tls  *tls.Config // client side, when the proxy serves wss://; else nil
	out  *outputFile
	done chan struct{}
}

// certFiles is a self-signed certificate for the wss:// workloads.
type certFiles struct{ cert, key string }

func (s proxySpec) start(target string, cert *certFiles) (*proxyProc, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p, err := s.startOnce(target, cert)
		if err == nil {
			return p, nil
		}
		lastErr = err
	}
	return nil, lastErr
}

func (s proxySpec) startOnce(target string, cert *certFiles) (*proxyProc, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	listen := fmt.Sprintf("127.0.0.1:%d", port)
	confName := ""
	if s.conf != "" {
		f, err := os.CreateTemp("", "wsbench-*.conf")
		if err != nil {
			return nil, err
		}
		r := strings.NewReplacer("{port}", strconv.Itoa(port), "{target}", target)
		_, err = f.WriteString(r.Replace(s.conf))
		f.Close()
		if err != nil {
			return nil, err
		}
		confName = f.Name()
		defer os.Remove(confName) // read at start
	}
	var cmd *exec.Cmd
	switch {
	case strings.Contains(s.path, "{"):
		r := strings.NewReplacer("{listen}", listen, "{port}", strconv.Itoa(port), "{target}", target, "{conf}", confName)
		f := strings.Fields(r.Replace(s.path))
		cmd = exec.Command(f[0], f[1:]...)
	case s.path == "":
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		cmd = exec.Command(self, "relay", listen, target)
	default:
		args := append([]string(nil), s.args...)
		if cert != nil {
			args = append(args, "--cert", cert.cert, "--key", cert.key)
		}
		cmd = exec.Command(s.path, append(args, listen, target)...)
	}
	out, err := newOutputFile()
	if err != nil {
		return nil, err
	}
	p := &proxyProc{spec: s, cmd: cmd, addr: listen, out: out, done: make(chan struct{})}
	cmd.Stdout, cmd.Stderr = out.f, out.f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		out.remove()
		return nil, fmt.Errorf("start %s: %w", s.name, err)
	}
	running.Store(p, struct{}{})
	go func() { cmd.Wait(); close(p.done) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			running.Delete(p)
			defer out.remove()
			return nil, fmt.Errorf("%s exited at start: %s", s.name, out.String())
		default:
		}
		if c, err := net.DialTimeout("tcp", listen, time.Second); err == nil {
			c.Close()
			time.Sleep(50 * time.Millisecond) // let the proxy settle after its first accept
			return p, nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	p.stop()
	return nil, fmt.Errorf("%s did not listen on %s: %s", s.name, listen, p.out.String())
}

func (p *proxyProc) pid() int { return p.cmd.Process.Pid }

// dial connects a client to the proxy, over TLS when it serves wss://,
// with a read buffer of bufSize bytes.
func (p *proxyProc) dial(bufSize int) (*client, error) {
	return dialClient(p.addr, p.spec.raw(), p.tls, bufSize)
}

// stop kills the proxy's whole process group (the reference forks one
// process per connection) and waits for the proxy.
func (p *proxyProc) stop() {
	running.Delete(p)
	syscall.Kill(-p.cmd.Process.Pid, syscall.SIGKILL)
	select {
	case <-p.done:
	case <-time.After(10 * time.Second):
	}
	p.out.remove()
}

// running holds the proxies started and not stopped yet, for killAll.
var running sync.Map

// killAll kills every running proxy's process group; wsbench calls it when
// it is interrupted, so that no proxy outlives it.
func killAll() {
	running.Range(func(k, _ any) bool {
		syscall.Kill(-k.(*proxyProc).cmd.Process.Pid, syscall.SIGKILL)
		return true
	})
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// outputFile takes a proxy's output. A file, not a pipe: a pipe would wake
// wsbench for every log line, on the CPUs the measurements share, and the
// plain relay logs nothing.
type outputFile struct{ f *os.File }

func newOutputFile() (*outputFile, error) {
	f, err := os.CreateTemp("", "wsbench-proxy-*.log")
	if err != nil {
		return nil, err
	}
	return &outputFile{f: f}, nil
}

// String returns the first 64 KiB of the output.
func (o *outputFile) String() string {
	b := make([]byte, 64<<10)
	n, _ := o.f.ReadAt(b, 0)
	return string(b[:n])
}

func (o *outputFile) remove() {
	o.f.Close()
	os.Remove(o.f.Name())
}

// runRelay is the plain TCP relay: two io.Copy calls between *net.TCPConn,
// which Go turns into splice(2) on Linux, with half-close. It sets no
// keep-alive (as wsbench's clients and backends), which saves it four
// system calls per socket.
func runRelay(listen, target string) error {
	ln, err := noKeepAlive.Listen(context.Background(), "tcp", listen)
	if err != nil {
		return err
	}
	for {
		c, err := ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			continue
		}
		go relayConn(c.(*net.TCPConn), target)
	}
}

func relayConn(c *net.TCPConn, target string) {
	defer c.Close()
	tc, err := (&net.Dialer{KeepAlive: -1}).Dial("tcp", target)
	if err != nil {
		return
	}
	t := tc.(*net.TCPConn)
	defer t.Close()
	done := make(chan struct{})
	go func() {
		io.Copy(t, c)
		t.CloseWrite()
		close(done)
	}()
	io.Copy(c, t)
	c.CloseWrite()
	<-done
}

// writeCert writes a self-signed certificate for 127.0.0.1 into dir.
func writeCert(dir string) (*certFiles, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "localhost"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, err
	}
	cf := &certFiles{cert: filepath.Join(dir, "cert.pem"), key: filepath.Join(dir, "key.pem")}
	if err := os.WriteFile(cf.cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		return nil, err
	}
	if err := os.WriteFile(cf.key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600); err != nil {
		return nil, err
	}
	return cf, nil
}
