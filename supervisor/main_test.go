package supervisor

import (
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
//	ignore-term  ignore SIGTERM, then sleep
//	hup N        exit with status N on SIGHUP
//	listen       listen on 127.0.0.1:$HELPER_PORT (exit 3 if taken), sleep
//	listen6      listen on [::1]:$HELPER_PORT, sleep
//	run D N      sleep for duration D, then exit with status N
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
		select {}
	case "hup":
		n, _ := strconv.Atoi(arg(1))
		c := make(chan os.Signal, 1)
		signal.Notify(c, syscall.SIGHUP)
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
	case "run":
		d, _ := time.ParseDuration(arg(1))
		n, _ := strconv.Atoi(arg(2))
		time.Sleep(d)
		return n
	}
	return 2
}
