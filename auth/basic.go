package auth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"unicode/utf8"
)

// Environment variables BasicHTTPAuth reads when --auth-source is empty,
// so that the password need not appear on the command line.
const (
	EnvBasicAuth     = "WEBSOCKIFY_BASIC_AUTH"      // "user:password"
	EnvBasicAuthFile = "WEBSOCKIFY_BASIC_AUTH_FILE" // a file holding "user:password" (trailing newline ignored)
)

// basicRealm is the reference's challenge.
const basicRealm = `Basic realm="Websockify"`

// basicHTTPAuth is BasicHTTPAuth: the Authorization header must carry the
// credentials "user:password" of the source.
type basicHTTPAuth struct {
	want [sha256.Size]byte // SHA-256 of "user:password"
}

func newBasicHTTPAuth(source string, o Options) (Plugin, error) {
	creds, err := basicCredentials(source, o)
	if err != nil {
		return nil, err
	}
	if !strings.Contains(creds, ":") {
		return nil, errors.New("credentials must be user:password")
	}
	return &basicHTTPAuth{want: sha256.Sum256([]byte(creds))}, nil
}

// basicCredentials takes the credentials from the source, or else from
// EnvBasicAuth or the file named by EnvBasicAuthFile; exactly one.
func basicCredentials(source string, o Options) (string, error) {
	env, file := o.getenv(EnvBasicAuth), o.getenv(EnvBasicAuthFile)
	n := 0
	for _, v := range []string{source, env, file} {
		if v != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return "", fmt.Errorf("credentials user:password are required (--auth-source, %s or %s)", EnvBasicAuth, EnvBasicAuthFile)
	case n > 1:
		return "", fmt.Errorf("credentials are given more than once (--auth-source, %s, %s): use one", EnvBasicAuth, EnvBasicAuthFile)
	case file == "":
		return source + env, nil
	}
	f, err := os.Open(file)
	if err != nil {
		return "", fmt.Errorf("%s: %w", EnvBasicAuthFile, err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, 4096))
	if err != nil {
		return "", fmt.Errorf("%s: %w", EnvBasicAuthFile, err)
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

// Authenticate follows the reference: no Authorization header → 401 with a
// Basic challenge; another scheme, bad base64 or no colon → 403; wrong
// credentials → 401 with the challenge. The comparison is over SHA-256
// digests in constant time. The decoded credentials are compared both as
// ISO-8859-1 (the reference) and as UTF-8 (what browsers send).
func (a *basicHTTPAuth) Authenticate(r *Request) error {
	h := r.Header.Get("Authorization")
	if h == "" {
		return demandAuth("no credentials")
	}
	scheme, payload, _ := strings.Cut(h, " ")
	if !strings.EqualFold(scheme, "Basic") {
		return &Error{Status: http.StatusForbidden, Log: "authorization is not Basic"}
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return &Error{Status: http.StatusForbidden, Log: "malformed Basic credentials"}
	}
	if !strings.Contains(string(raw), ":") {
		return &Error{Status: http.StatusForbidden, Log: "malformed Basic credentials"}
	}
	ok := a.match(latin1ToUTF8(raw))
	if utf8.Valid(raw) {
		ok |= a.match(string(raw))
	}
	if ok != 1 {
		return demandAuth("wrong credentials")
	}
	return nil
}

func (a *basicHTTPAuth) match(creds string) int {
	got := sha256.Sum256([]byte(creds))
	return subtle.ConstantTimeCompare(got[:], a.want[:])
}

func demandAuth(log string) *Error {
	return &Error{
		Status: http.StatusUnauthorized,
		Header: http.Header{"Www-Authenticate": {basicRealm}},
		Log:    log,
	}
}

func latin1ToUTF8(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}
