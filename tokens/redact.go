package tokens

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"strings"
)

// Redact names token for logs without revealing it: at most a quarter of
// it (never more than 4 characters, printable ASCII only) followed by the
// first 8 hex digits of its SHA-256 and its length, e.g. "abcd…#1a2b3c4d/32".
// Equal tokens give equal strings, so log lines can be correlated.
func Redact(token string) string {
	sum := sha256.Sum256([]byte(token))
	n := min(len(token)/4, 4)
	var b strings.Builder
	for i := 0; i < n; i++ {
		c := token[i]
		if c < 0x21 || c > 0x7e {
			c = '?'
		}
		b.WriteByte(c)
	}
	b.WriteString("…#")
	b.WriteString(hex.EncodeToString(sum[:4]))
	b.WriteByte('/')
	b.WriteString(strconv.Itoa(len(token)))
	return b.String()
}
