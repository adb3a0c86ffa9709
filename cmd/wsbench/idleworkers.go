package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The many-idle-sessions workload runs its clients and its backend in
// worker processes of their own (wsbench subcommands), so that wsbench's
// descriptors are not the limit: each process may hold 20,000 here, and a
// proxy with 9,500 sessions holds 19,000. They talk to wsbench over their
// standard input and output, one line at a time.
const (
	cmdIdleBackend = "idle-backend"
	cmdIdleClients = "idle-clients"
)

// runIdleBackend listens on loopback, prints "listen ADDR", and echoes on
// every connection it accepts, with a small buffer: 9,500 of them stay
// cheap. It ends when its standard input does.
func runIdleBackend() error {
	ln, err := noKeepAlive.Listen(context.Background(), "tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	fmt.Printf("listen %s\n", ln.Addr())
	go serve(ln, func(c net.Conn) {
		io.CopyBuffer(struct{ io.Writer }{c}, struct{ io.Reader }{c}, make([]byte, 128))
	})
	io.Copy(io.Discard, os.Stdin)
	return nil
}

// runIdleClients opens n sessions to addr (raw TCP when raw is "raw", else
// WebSocket), from the loopback source addresses srcs in turn, does one
// 64-byte round trip on each, prints "ready N", then keeps them open,
// answering the proxy's pings. On the line "report" it prints "alive A
// pings P" (sessions without an error so far, pings received); it ends
// when its standard input does.
func runIdleClients(addr, mode, count, sources string) error {
	n, err := strconv.Atoi(count)
	if err != nil {
		return fmt.Errorf("count %q: %w", count, err)
	}
	var srcs []net.IP
	for _, s := range strings.Split(sources, ",") {
		ip := net.ParseIP(s)
		if ip == nil {
			return fmt.Errorf("source address %q", s)
		}
		srcs = append(srcs, ip)
	}
	raw := mode == "raw"
	var pings, dead atomic.Int64
	var firstErr onceError
	var wg sync.WaitGroup
	next := atomic.Int64{}
	conns := make([]*client, n)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				cl, err := dialFrom(addr, srcs[i%len(srcs)], raw)
				if err == nil {
					cl.c.SetDeadline(time.Now().Add(30 * time.Second))
					err = cl.echo64()
					cl.c.SetDeadline(time.Time{})
				}
				if err != nil {
					firstErr.set(fmt.Errorf("session %d from %s: %w", i, srcs[i%len(srcs)], err))
					return
				}
				conns[i] = cl
			}
		}()
	}
	wg.Wait()
	if err := firstErr.get(); err != nil {
		return err
	}
	for _, cl := range conns {
		go holdIdle(cl, &pings, &dead)
	}
	fmt.Printf("ready %d\n", n)
	sc := bufio.NewScanner(os.Stdin)
	for sc.Scan() {
		if sc.Text() == "report" {
			fmt.Printf("alive %d pings %d\n", int64(n)-dead.Load(), pings.Load())
		}
	}
	return nil
}

// dialFrom is dialClient from the source address src.
func dialFrom(addr string, src net.IP, raw bool) (*client, error) {
	d := &net.Dialer{Timeout: 10 * time.Second, KeepAlive: -1, LocalAddr: &net.TCPAddr{IP: src}}
	return dialClientWith(d, addr, raw, nil, 256)
}

// holdIdle reads an idle session until it fails, answering pings.
func holdIdle(cl *client, pings, dead *atomic.Int64) {
	for {
		op, p, err := cl.next()
		if err != nil || op == opClose {
			dead.Add(1)
			return
		}
		if op == opPing {
			pings.Add(1)
			cl.out = appendFrame(cl.out[:0], opPong, p)
			if _, err := cl.c.Write(cl.out); err != nil {
				dead.Add(1)
				return
			}
		}
	}
}

// worker is a running worker process.
type worker struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
}

func startWorker(args ...string) (*worker, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, args...)
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start worker %s: %w", args[0], err)
	}
	return &worker{cmd: cmd, in: in, out: bufio.NewScanner(out)}, nil
}

// line waits for the worker's next line, up to d.
func (w *worker) line(d time.Duration) (string, error) {
	got := make(chan bool, 1)
	go func() { got <- w.out.Scan() }()
	select {
	case ok := <-got:
		if !ok {
			return "", fmt.Errorf("worker %s ended: %v", w.cmd.Args[1], w.out.Err())
		}
		return w.out.Text(), nil
	case <-time.After(d):
		return "", fmt.Errorf("worker %s: no answer in %v", w.cmd.Args[1], d)
	}
}

// stop closes the worker's input (which ends it) and waits; it kills the
// worker after 10 s.
func (w *worker) stop() {
	w.in.Close()
	done := make(chan struct{})
	go func() { w.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		w.cmd.Process.Kill()
		<-done
	}
}
