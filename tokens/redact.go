package tokens

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"
)

// EnvLogKeyFile names a file whose content keys the token hashes in logs,
// so that the instances of a fleet redact a token alike and their logs can
// be correlated. Without it every process draws a random key at start.
const EnvLogKeyFile = "WEBSOCKIFY_LOG_KEY_FILE"

// minLogKey is the shortest key accepted from EnvLogKeyFile.
const minLogKey = 16

// prefixFrom is the shortest token shown with a prefix: shorter tokens
// (the guessable kind) show nothing of themselves.
const prefixFrom = 24

// redactKey keys Redact's HMAC: the process's random key unless
// SetRedactKey installed one.
var redactKey atomic.Pointer[[]byte]

func init() {
	k := make([]byte, 32)
	rand.Read(k) // never fails (crypto/rand panics rather than return an error)
	redactKey.Store(&k)
}

// SetRedactKey keys Redact with key (at least 16 bytes).
func SetRedactKey(key []byte) error {
	if len(key) < minLogKey {
		return fmt.Errorf("log key shorter than %d bytes", minLogKey)
	}
	k := append([]byte(nil), key...)
	redactKey.Store(&k)
	return nil
}

// LoadRedactKey reads the key named by EnvLogKeyFile (through getenv),
// when set, and installs it. It reports whether a key file was used.
func LoadRedactKey(getenv func(string) string) (bool, error) {
	path := getenv(EnvLogKeyFile)
	if path == "" {
		return false, nil
	}
	data, err := readCapped(path, maxSmallFileLength)
	if err != nil {
		return false, fmt.Errorf("%s: %w", EnvLogKeyFile, err)
	}
	key := []byte(strings.TrimRight(string(data), "\r\n"))
	if err := SetRedactKey(key); err != nil {
		return false, fmt.Errorf("%s: %s: %w", EnvLogKeyFile, path, err)
	}
	return true, nil
}

// Redact names token for logs without revealing it: the first 8 hex digits
// of an HMAC-SHA-256 of the token under the process's key (random per
// process, or shared through EnvLogKeyFile) and its length, e.g.
// "#1a2b3c4d/6". A token of 24 bytes or more also shows its first 4
// characters (printable ASCII only), "abcd…#1a2b3c4d/32". Equal tokens give
// equal strings within a process (or a fleet sharing a key), so log lines
// can be correlated, but without the key no short token can be recovered
// by hashing guesses.
func Redact(token string) string {
	m := hmac.New(sha256.New, *redactKey.Load())
	m.Write([]byte(token))
	sum := m.Sum(nil)
	var b strings.Builder
	if len(token) >= prefixFrom {
		for i := 0; i < 4; i++ {
			c := token[i]
			if c < 0x21 || c > 0x7e {
				c = '?'
			}
			b.WriteByte(c)
		}
		b.WriteString("…")
	}
	b.WriteString("#")
	b.WriteString(hex.EncodeToString(sum[:4]))
	b.WriteByte('/')
	b.WriteString(strconv.Itoa(len(token)))
	return b.String()
}
