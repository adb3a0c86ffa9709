package route

import (
	"testing"

	"go.uber.org/goleak"
)

// No goroutine outlives the package's tests.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
