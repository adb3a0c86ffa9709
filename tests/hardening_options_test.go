package tests

import (
	"bytes"
	"io"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestHardeningVerifyClientNoPlain (D-1): --verify-client means every
// session has a verified client certificate: plain ws:// on the same port
// is refused, and without a certificate websockify does not start.
func TestHardeningVerifyClientNoPlain(t *testing.T) {
	k := newPKI(t)
	srvCA, srvCAKey := k.ca("server-ca")
	cliCA, cliCAKey := k.ca("client-ca")
	crt, key := k.leaf("server", "server", "ec", 1, srvCA, srvCAKey)
	aliceCrt, aliceKey := k.leaf("client", "alice", "ec", 2, cliCA, cliCAKey)
	be := startBackend(t, nil)
	reached := func() int { be.mu.Lock(); defer be.mu.Unlock(); return len(be.conns) }

	p := startProxy(t, "--cert", crt, "--key", key, "--verify-client", "--cafile", cliCA, "127.0.0.1:0", be.addr())
	for _, path := range []string{"/", "/websockify"} {
		c, err := net.DialTimeout("tcp", p.addr, 5*time.Second)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, upgradeHead("GET "+path+" HTTP/1.1", append([]string{"Host: x", "Sec-WebSocket-Key: " + goodKey}, stdUpgrade...)...))
		got, err := io.ReadAll(c)
		t.Logf("plain %s: %q %v", path, got, err)
		c.Close()
		if strings.Contains(string(got), "101") {
			t.Fatalf("plain ws:// upgraded with --verify-client: %q", got)
		}
	}
	if n := reached(); n != 0 {
		t.Fatalf("plain clients reached the target %d times", n)
	}
	if !strings.Contains(p.stderr.String(), "--verify-client: plain ws:// connections are refused") {
		t.Errorf("no word at start that plain connections are refused:\n%s", p.stderr.String())
	}
	rc := dialWSS(t, p.addr, withClientCert(t, trustCA(t, srvCA), aliceCrt, aliceKey))
	rc.echoOnce([]byte("verified"))
	rc.closeHandshake()

	t.Run("no certificate", func(t *testing.T) {
		dir := t.TempDir() // no self.pem here
		st, _, stderr := runCLIIn(t, dir, "--verify-client", "127.0.0.1:0", be.addr())
		if st != 2 || !strings.Contains(stderr, "--verify-client needs a certificate") || strings.Contains(stderr, "Listen on") {
			t.Fatalf("exit %d; want 2 with the reason:\n%s", st, stderr)
		}
	})
}

// TestHardeningInertOptions (D-11): an option that would do nothing in
// its combination is a usage error (ours, or a security weakening) or a
// warning at start (the reference's, where the reference accepts it).
func TestHardeningInertOptions(t *testing.T) {
	dir := t.TempDir() // no self.pem: TLS is off
	pw := filepath.Join(dir, "pw")
	writeFile(t, pw, "secret\n")
	be := startBackend(t, nil).addr()
	jwtKey := filepath.Join(dir, "jwt.pem")
	writeFile(t, jwtKey, "not used")
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"key password file without a certificate", []string{"--key-password-file", pw, "127.0.0.1:0", be}, "--key-password-file needs a certificate"},
		{"jwt-require-exp without JWTTokenApi", []string{"--jwt-require-exp", "--token-plugin", "TokenFile", "--token-source", pw, "127.0.0.1:0"}, "--jwt-require-exp needs --token-plugin JWTTokenApi"},
		{"jwt-require-exp without a plugin", []string{"--jwt-require-exp", "127.0.0.1:0", be}, "--jwt-require-exp needs --token-plugin JWTTokenApi"},
		{"wrap-grace without a program", []string{"--wrap-grace", "3", "127.0.0.1:0", be}, "--wrap-grace needs a wrapped program"},
		{"ssl-target-cafile and insecure", []string{"--ssl-target", "--ssl-target-cafile", pw, "--ssl-target-insecure", "127.0.0.1:0", be}, "--ssl-target-cafile cannot be combined with --ssl-target-insecure"},
		{"key password twice", []string{"--cert", pw, "--key-password", "a", "--key-password-file", pw, "127.0.0.1:0", be}, "--key-password and --key-password-file"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st, stdout, stderr := runCLIIn(t, dir, tc.args...)
			if st != 2 || !hasLineWith(stderr, errLine(tc.msg)) || strings.Contains(stderr, "Listen on") || stdout != "" {
				t.Fatalf("exit %d; want 2 and the line %q:\n%s", st, errLine(tc.msg), stderr)
			}
			if n := strings.Count(stderr, "error:"); n != 1 {
				t.Errorf("%d error lines on stderr; want one", n)
			}
		})
	}
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"ssl-version without a certificate", []string{"--ssl-version", "tlsv1_3"}, "--ssl-version has no effect"},
		{"ssl-ciphers without a certificate", []string{"--ssl-ciphers", "ECDHE-RSA-AES128-GCM-SHA256"}, "--ssl-ciphers has no effect"},
		{"key-password without a certificate", []string{"--key-password", "x"}, "--key-password has no effect"},
		{"key without a certificate", []string{"--key", pw}, "--key has no effect"},
		{"wrap-mode without a program", []string{"--wrap-mode", "respawn"}, "--wrap-mode has no effect"},
		{"unix-listen-mode without unix-listen", []string{"--unix-listen-mode", "0660"}, "--unix-listen-mode has no effect"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := startProxyIn(t, dir, nil, append(tc.args, "127.0.0.1:0", be)...)
			if !strings.Contains(p.stderr.String(), tc.msg) {
				t.Fatalf("started without the warning %q:\n%s", tc.msg, p.stderr.String())
			}
		})
	}
}

// runCLIIn is runCLI in directory dir.
func runCLIIn(t testing.TB, dir string, args ...string) (int, string, string) {
	t.Helper()
	cmd := exec.Command(wsBinary, args...)
	cmd.Dir = dir
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	st := runToExit(t, cmd, 20*time.Second, &errb)
	return st, out.String(), errb.String()
}
