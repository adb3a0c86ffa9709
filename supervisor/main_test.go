package supervisor

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// TestMain runs the helper child when the test binary is started by a test
// as the wrapped program, and otherwise checks for leaked goroutines.
func TestMain(m *testing.M) {
	if os.Getenv("GO_WANT_HELPER_PROCESS") == "1" {
		os.Exit(helperMain(os.Args[1:]))
	}
	goleak.VerifyTestMain(m)
}

// helperMain is the wrapped program: helper MODE [ARG].
//
//	exit N       exit with status N
//	kill N       kill itself with signal N
//	sleep        sleep until killed
//	ignore-term  ignore SIGTERM, print "ready", then sleep
//	hup N        print "ready", exit with status N on SIGHUP
//	listen       listen on 127.0.0.1:$HELPER_PORT (exit 3 if taken), sleep
//	listen6      listen on [::1]:$HELPER_PORT, sleep
//	run D N      sleep for duration D, then exit with status N
//	supervise A  run a Process on the command line A, print "supervising"
func helperMain(args []string) int {
	if len(args) == 0 {
		return 2
	}
	arg := func(i int) string {
		if i < len(args) {
			return args[i]
		}
		return ""
	}
	switch args[0] {
	case "exit":
		n, _ := strconv.Atoi(arg(1))
		return n
	case "kill":
		n, _ := strconv.Atoi(arg(1))
		signal.Reset() // take the default action
		_ = syscall.Kill(os.Getpid(), syscall.Signal(n))
		time.Sleep(10 * time.Second)
		return 1
	case "sleep":
		select {}
	case "ignore-term":
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("ready")
		select {}
	case "hup":
		n, _ := strconv.Atoi(arg(1))
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGHUP)
		fmt.Println("ready")
		<-c
		return n
	case "listen", "listen6":
		host := "127.0.0.1"
		if args[0] == "listen6" {
			host = "::1"
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(host, os.Getenv("HELPER_PORT")))
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 3
		}
		defer ln.Close()
		select {}
	case "listen-then-exit": // listen on $HELPER_PORT for a while, then exit 0
		d, _ := time.ParseDuration(arg(1))
		ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", os.Getenv("HELPER_PORT")))
		if err != nil {
			fmt.Fprintln(os.Stderr, "helper:", err)
			return 3
		}
		time.Sleep(d)
		ln.Close()
		return 0
	case "supervise": // supervise ARGV...: run a Process (exit mode) on ARGV
		p := &Process{Argv: args[1:], Port: 1, Grace: time.Second}
		fmt.Println("supervising")
		err := p.Run(context.Background())
		fmt.Fprintln(os.Stderr, "helper: supervise:", err)
		return 1
	case "run":
		d, _ := time.ParseDuration(arg(1))
		n, _ := strconv.Atoi(arg(2))
		time.Sleep(d)
		return n
	}
	return 2
}
