package tests

import (
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHardeningRecordFullDisk (S2-2): on a full disk (a 64 KiB tmpfs), a
// recording that fails midway is logged once, with a count, and the
// session goes on; a session whose recording cannot even start (its header
// cannot be written) is refused with 1011, never "recorded" into a 0-byte
// file.
func TestHardeningRecordFullDisk(t *testing.T) {
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=64k,mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Fatalf("mount a small tmpfs (the test runs as root, as CI does): %v: %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", dir).Run() })
	be := startBackend(t, nil)
	p := startProxy(t, "--record", filepath.Join(dir, "rec"), "127.0.0.1:0", be.addr())

	rc := dialRaw(t, p.addr)
	for range 8 {
		rc.echoOnce(randBytes(32 << 10)) // escaped, far more than 64 KiB
	}
	p.stderr.waitFor(t, reMust(`recording failed; the session goes on unrecorded.*failed_recordings=1`), 10*time.Second)
	rc.echoOnce([]byte("still relaying")) // the session goes on
	rc.closeHandshake()
	if n := strings.Count(p.stderr.String(), "recording failed"); n != 1 {
		t.Fatalf("the failure was logged %d times; want once:\n%s", n, p.stderr.String())
	}

	// The disk is full now: the next sessions cannot be recorded at all.
	for range 2 {
		rc := dialRaw(t, p.addr)
		code, reason, _ := rc.expectClose(10 * time.Second)
		if code != 1011 || reason != "Recording failed" {
			t.Fatalf("close %d %q; want 1011 Recording failed", code, reason)
		}
	}
	p.stderr.waitFor(t, reMust(`cannot record the session.*no space left`), 10*time.Second)
	matches, _ := filepath.Glob(filepath.Join(dir, "rec.*"))
	if len(matches) != 1 {
		t.Fatalf("recording files %v; want only the first session's (no empty files)", matches)
	}
}
