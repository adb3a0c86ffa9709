package tokens

import (
	"bytes"
	"fmt"
	"log/slog"
	"unicode"
	"unicode/utf8"
)

// tokenFileParser reads token files ("token: host:port" lines) exactly as
// the reference does, accumulating targets over one or more files.
type tokenFileParser struct {
	source  string // the --token-source as given, for messages
	log     *slog.Logger
	targets map[string]Target
	line    int // running line number across files, as the reference counts
}

func newTokenFileParser(source string, log *slog.Logger) *tokenFileParser {
	return &tokenFileParser{source: source, log: log, targets: make(map[string]Target)}
}

// file names the file whose contents come next, for messages, and
// restarts the line count: errors name the file and the line in it (the
// reference names the directory and counts lines across its files).
func (p *tokenFileParser) file(name string) {
	p.source, p.line = name, 0
}

// parse adds the entries of one file's contents. The rules are the
// reference's: lines are split like Python's universal newlines; a line
// starting with '#' (column 0 only) is a comment; every other line,
// including a blank one, must split into exactly two parts at ':'
// followed by one whitespace character, else "Syntax error in SOURCE on
// line N" is logged; the token is the left part verbatim; the target is
// the right part trimmed and split at its last colon. A later entry for
// the same token replaces an earlier one. Entries whose target is not
// host:port (or unix_socket:PATH) are logged and dropped.
func (p *tokenFileParser) parse(data []byte) {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	data = bytes.ReplaceAll(data, []byte("\r"), []byte("\n"))
	for len(data) > 0 {
		var line []byte
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			line, data = data[:i+1], data[i+1:]
		} else {
			line, data = data, nil
		}
		p.line++
		if line[0] == '#' {
			continue
		}
		p.parseLine(string(line))
	}
}

func (p *tokenFileParser) parseLine(line string) {
	parts := splitColonSpace(line)
	if len(parts) != 2 {
		p.log.Error(fmt.Sprintf("Syntax error in %s on line %d", p.source, p.line))
		return
	}
	tok := parts[0]
	t, err := ParseTargetOptions(parts[1])
	if err != nil {
		delete(p.targets, tok)
		p.log.Error(fmt.Sprintf("Invalid target in %s on line %d: %v", p.source, p.line, err))
		return
	}
	p.targets[tok] = t
}

// splitColonSpace is Python's re.split(r':\s', s): it cuts at every ':'
// followed by one whitespace character, removing both.
func splitColonSpace(s string) []string {
	var parts []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] != ':' {
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i+1:])
		if n == 0 || !pyIsSpace(r) {
			continue
		}
		parts = append(parts, s[start:i])
		start = i + 1 + n
		i = start - 1
	}
	return append(parts, s[start:])
}

// pyIsSpace is Python's str.isspace for one character, which is what \s
// and strip() use: Unicode whitespace plus the separators U+001C–U+001F.
func pyIsSpace(r rune) bool {
	return unicode.IsSpace(r) || (r >= 0x1c && r <= 0x1f)
}
