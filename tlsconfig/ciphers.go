package tlsconfig

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// Version names accepted by --ssl-version, as the reference spells them.
const (
	VersionDefault = "default"
	VersionTLS11   = "tlsv1_1"
	VersionTLS12   = "tlsv1_2"
	VersionTLS13   = "tlsv1_3"
)

// ParseVersion maps an --ssl-version name to a tls.Config MinVersion. The
// empty name and "default" give 0, Go's default (TLS 1.2 for servers).
func ParseVersion(name string) (uint16, error) {
	switch name {
	case "", VersionDefault:
		return 0, nil
	case VersionTLS11:
		return tls.VersionTLS11, nil
	case VersionTLS12:
		return tls.VersionTLS12, nil
	case VersionTLS13:
		return tls.VersionTLS13, nil
	}
	return 0, fmt.Errorf("invalid TLS version %q (choose from %q, %q, %q, %q)",
		name, VersionDefault, VersionTLS11, VersionTLS12, VersionTLS13)
}

// openSSLNames maps OpenSSL's names of the suites Go implements to their
// IANA names (`openssl ciphers -stdname`).
var openSSLNames = map[string]string{
	"ECDHE-ECDSA-AES128-GCM-SHA256": "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-RSA-AES128-GCM-SHA256":   "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
	"ECDHE-ECDSA-AES256-GCM-SHA384": "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-RSA-AES256-GCM-SHA384":   "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
	"ECDHE-ECDSA-CHACHA20-POLY1305": "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-RSA-CHACHA20-POLY1305":   "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
	"ECDHE-ECDSA-AES128-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA",
	"ECDHE-ECDSA-AES256-SHA":        "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA",
	"ECDHE-RSA-AES128-SHA":          "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA",
	"ECDHE-RSA-AES256-SHA":          "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA",
	"ECDHE-ECDSA-AES128-SHA256":     "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256",
	"ECDHE-RSA-AES128-SHA256":       "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256",
	"ECDHE-RSA-DES-CBC3-SHA":        "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA",
	"ECDHE-ECDSA-RC4-SHA":           "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA",
	"ECDHE-RSA-RC4-SHA":             "TLS_ECDHE_RSA_WITH_RC4_128_SHA",
	"AES128-GCM-SHA256":             "TLS_RSA_WITH_AES_128_GCM_SHA256",
	"AES256-GCM-SHA384":             "TLS_RSA_WITH_AES_256_GCM_SHA384",
	"AES128-SHA256":                 "TLS_RSA_WITH_AES_128_CBC_SHA256",
	"AES128-SHA":                    "TLS_RSA_WITH_AES_128_CBC_SHA",
	"AES256-SHA":                    "TLS_RSA_WITH_AES_256_CBC_SHA",
	"DES-CBC3-SHA":                  "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
	"RC4-SHA":                       "TLS_RSA_WITH_RC4_128_SHA",
}

// defaultKeywords select Go's default set of secure suites.
var defaultKeywords = []string{"DEFAULT", "HIGH", "ALL"}

// neverOffered are OpenSSL cipher classes Go never negotiates, so excluding
// them ("!aNULL") changes nothing and is accepted.
var neverOffered = []string{
	"aNULL", "eNULL", "NULL", "EXPORT", "EXP", "LOW", "MEDIUM", "MD5", "PSK",
	"aPSK", "kPSK", "SRP", "aSRP", "kSRP", "DSS", "aDSS", "ADH", "AECDH",
	"DHE", "EDH", "kDHE", "kEDH", "DH", "kDH", "CAMELLIA", "ARIA", "SEED",
	"IDEA", "DES", "CCM", "CCM8", "aGOST", "kGOST", "GOST94", "GOST89MAC",
	"SSLv2", "COMPLEMENTOFDEFAULT", "COMPLEMENTOFALL",
}

// CipherSuite is one entry of a parsed --ssl-ciphers list.
type CipherSuite struct {
	ID       uint16
	Name     string // IANA name, as crypto/tls spells it
	Insecure bool   // listed by tls.InsecureCipherSuites
	TLS13    bool   // a TLS 1.3 suite: always on in Go, not configurable
}

// ParseCiphers reads an OpenSSL cipher list ("ECDHE-RSA-AES128-GCM-SHA256:
// ECDHE-ECDSA-AES128-GCM-SHA256"; ':', ',' or spaces separate names) and
// returns the Go suites it names, in order. It accepts:
//   - OpenSSL names and IANA names of suites Go implements;
//   - DEFAULT, HIGH and ALL, meaning Go's default secure suites;
//   - "!NAME" and "-NAME" to drop a suite named before, and to exclude the
//     classes Go never offers (!aNULL, !MD5, !EXPORT, ...);
//   - "@STRENGTH" and "@SECLEVEL=N", which are ignored.
//
// Anything else is an error naming every unknown entry.
func ParseCiphers(list string) ([]CipherSuite, error) {
	byName := map[string]CipherSuite{}
	for _, cs := range tls.CipherSuites() {
		byName[cs.Name] = CipherSuite{cs.ID, cs.Name, false, isTLS13(cs)}
	}
	for _, cs := range tls.InsecureCipherSuites() {
		byName[cs.Name] = CipherSuite{cs.ID, cs.Name, true, false}
	}
	lookup := func(name string) (CipherSuite, bool) {
		if iana, ok := openSSLNames[name]; ok {
			name = iana
		}
		cs, ok := byName[name]
		return cs, ok
	}

	var out []CipherSuite
	var unknown []string
	fields := strings.FieldsFunc(list, func(r rune) bool {
		return r == ':' || r == ',' || r == ' ' || r == '\t'
	})
	for _, f := range fields {
		switch {
		case strings.HasPrefix(f, "@"):
			continue
		case f[0] == '!' || f[0] == '-':
			name := f[1:]
			if cs, ok := lookup(name); ok {
				out = slices.DeleteFunc(out, func(c CipherSuite) bool { return c.ID == cs.ID })
			} else if !slices.Contains(neverOffered, name) {
				unknown = append(unknown, f)
			}
		case slices.Contains(defaultKeywords, f):
			for _, cs := range tls.CipherSuites() {
				if !slices.ContainsFunc(out, func(c CipherSuite) bool { return c.ID == cs.ID }) {
					out = append(out, byName[cs.Name])
				}
			}
		default:
			cs, ok := lookup(f)
			if !ok {
				unknown = append(unknown, f)
				continue
			}
			if !slices.ContainsFunc(out, func(c CipherSuite) bool { return c.ID == cs.ID }) {
				out = append(out, cs)
			}
		}
	}
	if len(unknown) > 0 {
		return nil, fmt.Errorf("ciphers not supported by Go's TLS: %s (supported: %s)",
			strings.Join(unknown, ", "), strings.Join(SupportedCipherNames(), ", "))
	}
	return out, nil
}

// SupportedCipherNames lists the OpenSSL names ParseCiphers accepts, sorted.
func SupportedCipherNames() []string {
	names := make([]string, 0, len(openSSLNames)+3)
	for n := range openSSLNames {
		names = append(names, n)
	}
	for _, cs := range tls.CipherSuites() {
		if isTLS13(cs) {
			names = append(names, cs.Name)
		}
	}
	slices.Sort(names)
	return names
}

func isTLS13(cs *tls.CipherSuite) bool {
	return len(cs.SupportedVersions) == 1 && cs.SupportedVersions[0] == tls.VersionTLS13
}

// cipherIDs returns the IDs for tls.Config.CipherSuites of the TLS 1.2 and
// older suites; TLS 1.3 suites are left out as Go ignores them there.
func cipherIDs(suites []CipherSuite) []uint16 {
	var ids []uint16
	for _, cs := range suites {
		if !cs.TLS13 {
			ids = append(ids, cs.ID)
		}
	}
	return ids
}
