package tlsconfig

import (
	"crypto/tls"
	"os/exec"
	"slices"
	"strings"
	"testing"
)

func TestParseCiphers(t *testing.T) {
	tests := []struct {
		list    string
		want    []uint16 // IDs, in order
		wantErr string
	}{
		{"ECDHE-RSA-AES128-GCM-SHA256", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, ""},
		{"ECDHE-ECDSA-CHACHA20-POLY1305, TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
			[]uint16{tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384}, ""},
		{"ECDHE-RSA-AES128-SHA ECDHE-RSA-AES128-SHA", []uint16{tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}, ""},
		{"HIGH:!aNULL:!MD5:-ECDHE-RSA-AES128-SHA:@SECLEVEL=2", nil, ""}, // checked below
		{"TLS_AES_256_GCM_SHA384:ECDHE-RSA-AES128-GCM-SHA256",
			[]uint16{tls.TLS_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256}, ""},
		{"AES128-SHA", []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}, ""},
		{"DHE-RSA-AES256-GCM-SHA384", nil, "DHE-RSA-AES256-GCM-SHA384"},
		{"ECDHE-RSA-AES128-GCM-SHA256:+RC4", nil, "+RC4"},
		{"!ECDHE", nil, "!ECDHE"},
		{"CAMELLIA256-SHA:bogus", nil, "CAMELLIA256-SHA, bogus (supported: "},
	}
	for _, tc := range tests {
		got, err := ParseCiphers(tc.list)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("%q: got %v; want error containing %q", tc.list, err, tc.wantErr)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.list, err)
			continue
		}
		var ids []uint16
		for _, cs := range got {
			ids = append(ids, cs.ID)
		}
		if tc.want == nil {
			if slices.Contains(ids, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA) || len(ids) != len(tls.CipherSuites())-1 {
				t.Errorf("%q: got %x", tc.list, ids)
			}
			continue
		}
		if !slices.Equal(ids, tc.want) {
			t.Errorf("%q: got %x; want %x", tc.list, ids, tc.want)
		}
	}
}

// TestCipherNamesMatchOpenSSL checks the name table against the local
// openssl's own mapping.
func TestCipherNamesMatchOpenSSL(t *testing.T) {
	out, err := exec.Command("openssl", "ciphers", "-stdname", "ALL:COMPLEMENTOFALL:@SECLEVEL=0").Output()
	if err != nil {
		t.Skip("openssl ciphers:", err)
	}
	iana := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		// "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256 - ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 ..."
		f := strings.Fields(line)
		if len(f) >= 3 && f[1] == "-" {
			iana[f[2]] = f[0]
		}
	}
	checked := 0
	for name, want := range openSSLNames {
		got, ok := iana[name]
		if !ok {
			continue // RC4 and 3DES are compiled out of modern OpenSSL
		}
		checked++
		if got != want {
			t.Errorf("%s: openssl says %s; table says %s", name, got, want)
		}
	}
	if checked < 15 {
		t.Fatalf("only %d names found in openssl's list", checked)
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]uint16{"": 0, "default": 0, "tlsv1_1": tls.VersionTLS11,
		"tlsv1_2": tls.VersionTLS12, "tlsv1_3": tls.VersionTLS13} {
		if got, err := ParseVersion(in); err != nil || got != want {
			t.Errorf("%q: got %x, %v; want %x", in, got, err, want)
		}
	}
	for _, bad := range []string{"tlsv1", "TLSv1_2", "sslv23"} {
		if _, err := ParseVersion(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
