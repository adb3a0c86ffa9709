package tests

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// The .deb installed as a user installs it: over Debian's websockify and
// novnc, with dpkg -i, as root. The test changes the system (it replaces
// /usr/bin/websockify, the reference the differential tests run), so it
// first downloads Debian's packages and puts them back when it ends, pass
// or fail. It does not run in parallel with other tests (no t.Parallel),
// so no other test sees our binary at /usr/bin/websockify.

const debPackage = "websockify-go"

// debianPackages are Debian's packages the test replaces and restores:
// websockify, and python3-websockify, which owns /usr/bin/websockify.
var debianPackages = []string{"websockify", "python3-websockify"}

func TestDebInstall(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Fatal("installing the .deb needs root (CI runs as root)")
	}
	for _, p := range []string{"dpkg", "dpkg-deb", "apt-get", "lintian", "man", "bash", "fish", "zsh"} {
		requireProgram(t, p)
	}
	for _, p := range append(debianPackages, "novnc", "bash-completion") {
		if debStatus(t, p) != "install ok installed" {
			t.Fatalf("Debian's %s is not installed; run tests/install-deps.sh as root (make deps)", p)
		}
	}
	if debStatus(t, debPackage) != "" {
		t.Fatalf("%s is already installed; remove it (apt-get install websockify) before the tests", debPackage)
	}

	version := buildVersion(t)
	arch := strings.TrimSpace(runOK(t, "dpkg", "--print-architecture"))
	makeOut(t, 10*time.Minute, "deb")
	deb := filepath.Join(repoRoot(t), "dist", fmt.Sprintf("%s_%s_%s.deb", debPackage, version, arch))
	if got := strings.TrimSpace(runOK(t, "dpkg-deb", "-f", deb, "Version")); got != version {
		t.Fatalf("%s has version %q; want %q", deb, got, version)
	}

	t.Run("lintian", func(t *testing.T) {
		out, err := exec.Command("lintian", "--fail-on", "error", deb).CombinedOutput()
		t.Logf("lintian %s:\n%s", filepath.Base(deb), out)
		if err != nil || regexp.MustCompile(`(?m)^E: `).Match(out) {
			t.Errorf("lintian reports errors (%v)", err)
		}
	})

	// Debian's packages, to put back afterwards: downloaded before anything
	// changes, so that a failure to get them leaves the system alone.
	saved := saveDebianPackages(t)
	t.Cleanup(func() { restoreDebian(t, saved) })

	out := runOK(t, "dpkg", "-i", deb)
	t.Logf("dpkg -i:\n%s", out)
	if st := debStatus(t, "websockify"); st != "" && st != "deinstall ok config-files" {
		t.Errorf("Debian's websockify is %q after installing ours; want it removed", st)
	}
	if st := debStatus(t, "novnc"); st != "install ok installed" {
		t.Errorf("novnc is %q after installing ours; want it still installed", st)
	}
	if audit := runOK(t, "dpkg", "--audit"); strings.TrimSpace(audit) != "" {
		t.Errorf("dpkg --audit after installing:\n%s", audit)
	}

	t.Run("binary", func(t *testing.T) {
		if owner := runOK(t, "dpkg-query", "-S", "/usr/bin/websockify"); !strings.HasPrefix(owner, debPackage+":") {
			t.Errorf("/usr/bin/websockify belongs to %q", owner)
		}
		v := runOK(t, "/usr/bin/websockify", "--version")
		if !strings.Contains(v, "websockify version "+version+" ") {
			t.Errorf("/usr/bin/websockify --version: %q; want version %s", v, version)
		}
	})

	t.Run("man", func(t *testing.T) {
		checkManListsHelp(t, manText(t, "websockify"), helpOptionNames(t, "/usr/bin/websockify"))
	})

	t.Run("completion", func(t *testing.T) {
		// bash-completion loads it on demand from its directory.
		loader := ". /usr/share/bash-completion/bash_completion; _completion_loader websockify"
		out := runOK(t, "bash", "-c", loader+"; complete -p websockify")
		if !strings.Contains(out, "websockify") {
			t.Errorf("complete -p websockify: %q", out)
		}
		for _, c := range completionCases {
			if got := bashComplete(t, loader, c.line); got != c.want {
				t.Errorf("bash: %q completes to %q; want %q", c.line, got, c.want)
			}
			if got := fishComplete(t, "", c.line); got != c.want {
				t.Errorf("fish: %q completes to %q; want %q", c.line, got, c.want)
			}
		}
		checkZshCompletion(t, "") // from /usr/share/zsh/vendor-completions, in zsh's default fpath
	})

	t.Run("novnc_proxy", func(t *testing.T) { testNoVNCProxy(t) })

	t.Run("systemd units", func(t *testing.T) {
		for _, f := range []string{"/lib/systemd/system/websockify@.service", "/lib/systemd/system/websockify@.socket",
			"/usr/share/doc/" + debPackage + "/examples/example.conf"} {
			if owner := runOK(t, "dpkg-query", "-S", f); !strings.HasPrefix(owner, debPackage+":") {
				t.Errorf("%s belongs to %q", f, owner)
			}
		}
		checkUnits(t, requireProgram(t, "systemd-analyze"), "/lib/systemd/system")
	})

	// Remove it. novnc depends on websockify, which only ours provides
	// now, so dpkg needs --force-depends (restoreDebian then satisfies it).
	out = runOK(t, "dpkg", "--remove", "--force-depends", debPackage)
	t.Logf("dpkg --remove:\n%s", out)
	conffiles := strings.TrimSpace(runOKAllowFail(t, "dpkg-query", "-W", "-f=${Conffiles}", debPackage))
	if st := debStatus(t, debPackage); st != "" && st != "deinstall ok config-files" {
		t.Errorf("%s is %q after removal", debPackage, st)
	}
	for _, f := range debFiles(t, deb) {
		if strings.Contains(conffiles, " "+f+" ") || strings.HasPrefix(conffiles, f+" ") {
			continue
		}
		if _, err := os.Lstat(f); err == nil {
			t.Errorf("%s is still there after removal (not a conffile)", f)
		}
	}
	if _, err := os.Stat("/usr/share/doc/" + debPackage); err == nil {
		t.Errorf("/usr/share/doc/%s is still there after removal", debPackage)
	}
}

// testNoVNCProxy runs Debian's novnc_proxy, which finds websockify in PATH,
// loads noVNC's page through it and relays a WebSocket session to a
// backend.
func testNoVNCProxy(t *testing.T) {
	backend := startBackend(t, nil)
	port := freePort(t)
	cmd := exec.Command("/usr/share/novnc/utils/novnc_proxy", "--listen", fmt.Sprint(port), "--vnc", backend.addr())
	out, _ := startProcessGroup(t, cmd, "PATH=/usr/sbin:/usr/bin:/sbin:/bin")
	out.waitFor(t, regexp.MustCompile(`Using installed websockify at /usr/bin/websockify`), 20*time.Second)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	waitListening(t, addr)

	resp, err := http.Get("http://" + addr + "/vnc.html")
	if err != nil {
		t.Fatalf("GET vnc.html: %v", err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.Contains(string(page), "noVNC") {
		t.Fatalf("GET vnc.html: %s, %d bytes, noVNC in it: %v", resp.Status, len(page), strings.Contains(string(page), "noVNC"))
	}

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, "ws://"+addr+"/websockify", &websocket.DialOptions{Subprotocols: []string{"binary"}})
	if err != nil {
		t.Fatalf("WebSocket through novnc_proxy: %v", err)
	}
	defer c.CloseNow()
	msg := []byte("RFB 003.008\n")
	if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
		t.Fatal(err)
	}
	_, got, err := c.Read(ctx)
	if err != nil || string(got) != string(msg) {
		t.Fatalf("echo through novnc_proxy: %q, %v", got, err)
	}
	c.Close(websocket.StatusNormalClosure, "")
}

// debStatus is dpkg's status of a package, "" when dpkg does not know it.
func debStatus(t testing.TB, pkg string) string {
	t.Helper()
	out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", pkg).Output()
	if err != nil {
		return ""
	}
	st := strings.TrimSpace(string(out))
	if st == "unknown ok not-installed" || st == "purge ok not-installed" {
		return ""
	}
	return st
}

// debFiles lists the regular files and links a .deb installs, as absolute
// paths.
func debFiles(t testing.TB, deb string) []string {
	t.Helper()
	var files []string
	for _, l := range strings.Split(runOK(t, "dpkg-deb", "-c", deb), "\n") {
		f := strings.Fields(l)
		if len(f) < 6 || strings.HasPrefix(f[0], "d") {
			continue
		}
		files = append(files, strings.TrimPrefix(f[5], "."))
	}
	if len(files) < 5 {
		t.Fatalf("dpkg-deb -c %s lists %d files", deb, len(files))
	}
	return files
}

func runOKAllowFail(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, _ := exec.Command(name, args...).Output()
	return string(out)
}

// saveDebianPackages downloads the installed versions of Debian's packages
// (any version apt has when those are gone from the mirror) and returns
// the .deb files.
func saveDebianPackages(t *testing.T) []string {
	t.Helper()
	dir, err := os.MkdirTemp("", "websockify-debs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	var debs []string
	for _, p := range debianPackages {
		v := strings.TrimSpace(runOK(t, "dpkg-query", "-W", "-f=${Version}", p))
		var err error
		var out []byte
		// The installed version, else any; after an apt-get update when
		// the package lists are missing or stale.
		for i, spec := range []string{p + "=" + v, p, "update", p + "=" + v, p} {
			if spec == "update" {
				exec.Command("apt-get", "update", "-qq").Run()
				continue
			}
			cmd := exec.Command("apt-get", "download", "-q", spec)
			cmd.Dir = dir
			if out, err = cmd.CombinedOutput(); err == nil || i == 4 {
				break
			}
		}
		if err != nil {
			t.Fatalf("apt-get download %s (to restore it after the test): %v\n%s", p, err, out)
		}
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		debs = append(debs, filepath.Join(dir, e.Name()))
	}
	if len(debs) != len(debianPackages) {
		t.Fatalf("downloaded %d packages; want %d", len(debs), len(debianPackages))
	}
	return debs
}

// restoreDebian removes our package if it is still there and reinstalls
// Debian's, so that /usr/bin/websockify is the reference again.
func restoreDebian(t *testing.T, debs []string) {
	if debStatus(t, debPackage) != "" {
		if out, err := exec.Command("dpkg", "--purge", "--force-depends", debPackage).CombinedOutput(); err != nil {
			t.Errorf("dpkg --purge %s: %v\n%s", debPackage, err, out)
		}
	}
	if out, err := exec.Command("dpkg", append([]string{"-i"}, debs...)...).CombinedOutput(); err != nil {
		t.Errorf("restoring Debian's websockify: dpkg -i: %v\n%s", err, out)
	}
	if st := debStatus(t, "websockify"); st != "install ok installed" {
		t.Errorf("Debian's websockify is %q after restoring it", st)
	}
	if owner, err := exec.Command("dpkg-query", "-S", "/usr/bin/websockify").Output(); err != nil || !strings.HasPrefix(string(owner), "python3-websockify:") {
		t.Errorf("/usr/bin/websockify belongs to %q after restoring (%v)", owner, err)
	}
	if head := readHead("/usr/bin/websockify"); !strings.Contains(head, "python3") {
		t.Errorf("/usr/bin/websockify is not Debian's Python script after restoring: %q", head)
	}
	if audit, _ := exec.Command("dpkg", "--audit").Output(); strings.TrimSpace(string(audit)) != "" {
		t.Errorf("dpkg --audit after restoring:\n%s", audit)
	}
}

func readHead(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	b := make([]byte, 64)
	n, _ := f.Read(b)
	return string(b[:n])
}
