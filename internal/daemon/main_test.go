package daemon

import (
	"testing"

	"go.uber.org/goleak"
)

// No goroutine outlives the package's tests but Detach's wait for the
// daemon child, which by design outlives Detach: the parent process exits
// right after it returns, and the tests' children may still run.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/websockify-go/websockify/internal/daemon.Detach.func1"))
}
