package tokens

import (
	"fmt"
	"strconv"
	"strings"
)

// ParseSourceArgs splits a --token-source at colons like the reference's
// parse_source_args: a field that is wrapped whole in double quotes (the
// closing quote followed by ':' or the end) may contain colons and loses
// its quotes; "" and any other quote are literal. It always returns at
// least one field.
func ParseSourceArgs(src string) []string {
	var fields []string
	i := 0
	for {
		if f, next, ok := quotedField(src, i); ok {
			fields = append(fields, f)
			i = next
		} else {
			end := strings.IndexByte(src[i:], ':')
			if end < 0 {
				end = len(src)
			} else {
				end += i
			}
			fields = append(fields, src[i:end])
			i = end
		}
		if i >= len(src) {
			return fields
		}
		i++ // skip the ':'
	}
}

// quotedField matches `"([^"]+)"(?=:|$)` at i.
func quotedField(src string, i int) (field string, next int, ok bool) {
	if i >= len(src) || src[i] != '"' {
		return "", 0, false
	}
	j := strings.IndexByte(src[i+1:], '"')
	if j <= 0 {
		return "", 0, false
	}
	end := i + 1 + j // the closing quote
	if end+1 < len(src) && src[end+1] != ':' {
		return "", 0, false
	}
	return src[i+1 : end], end + 1, true
}

// redisSource is a parsed TokenRedis --token-source.
type redisSource struct {
	host      string
	port      int
	db        int
	password  string
	namespace string // with its trailing ':' when set
}

// parseRedisSource reads host[:port[:db[:password[:namespace]]]] as the
// reference does: empty fields take the defaults 6379, 0, no password and
// no namespace; a namespace gets ':' appended. An empty host means
// localhost.
func parseRedisSource(src string) (redisSource, error) {
	s := redisSource{host: "localhost", port: 6379}
	fields := ParseSourceArgs(src)
	bad := fmt.Errorf("the provided --token-source='%s' is not in the expected format <host>[:<port>[:<db>[:<password>[:<namespace>]]]]", src)
	if len(fields) > 5 {
		return s, bad
	}
	fields = append(fields, make([]string, 5-len(fields))...)
	if fields[0] != "" {
		s.host = fields[0]
	}
	var err error
	if fields[1] != "" {
		if s.port, err = pyInt(fields[1]); err != nil || s.port < 1 || s.port > 65535 {
			return s, bad
		}
	}
	if fields[2] != "" {
		if s.db, err = pyInt(fields[2]); err != nil || s.db < 0 {
			return s, bad
		}
	}
	s.password = fields[3]
	if fields[4] != "" {
		s.namespace = fields[4] + ":"
	}
	if checkHost(strings.Trim(s.host, "[]")) != nil {
		return s, bad
	}
	return s, nil
}

// pyInt is Python's int() on a decimal string: surrounding whitespace and a
// sign are allowed.
func pyInt(s string) (int, error) {
	return strconv.Atoi(strings.TrimLeft(strings.TrimFunc(s, pyIsSpace), "+"))
}
