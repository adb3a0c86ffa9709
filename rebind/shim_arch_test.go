package rebind

import (
	"bytes"
	"debug/elf"
	"runtime"
	"testing"
)

// TestShimMatchesArch: the embedded shim is a shared object for the
// architecture the binary is built for.
func TestShimMatchesArch(t *testing.T) {
	want := map[string]elf.Machine{"amd64": elf.EM_X86_64, "arm64": elf.EM_AARCH64}[runtime.GOARCH]
	if want == 0 {
		t.Skipf("no shim is committed for %s", runtime.GOARCH)
	}
	f, err := elf.NewFile(bytes.NewReader(shim))
	if err != nil {
		t.Fatalf("embedded shim: %v", err)
	}
	if f.Type != elf.ET_DYN || f.Machine != want {
		t.Fatalf("embedded shim is %v %v; want ET_DYN %v", f.Type, f.Machine, want)
	}
}
