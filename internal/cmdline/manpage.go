package cmdline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/cpuguy83/go-md2man/v2/md2man"
	"github.com/urfave/cli/v2"
)

// ManInfo is what the man page needs besides the option definitions.
type ManInfo struct {
	Version string // as --version prints it
	Date    string // of the release, YYYY-MM-DD
	Choices Choices
}

// ManPage renders websockify(1) as roff from the option definitions that
// --help prints, so the two always list the same options. The markdown is
// rendered by go-md2man, as urfave/cli's own ToMan does.
func ManPage(info ManInfo) []byte {
	return md2man.Render([]byte(ManMarkdown(info)))
}

// ManMarkdown is the man page's markdown source.
func ManMarkdown(info ManInfo) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%% websockify 1 %q %q \"User Commands\"\n\n", info.Date, "websockify "+info.Version)
	b.WriteString("# NAME\n\nwebsockify - " + mdEscape(appUsage) + "\n\n# SYNOPSIS\n\n")
	for _, line := range strings.Split(UsageText, "\n") {
		b.WriteString(synopsisLine(line) + "  \n")
	}
	b.WriteString("\n" + manDescription + "\n# OPTIONS\n\n")
	b.WriteString("Options may also follow the positional arguments. " +
		"Options that take a value accept **--option**=*VALUE* and **--option** *VALUE*; " +
		"a boolean option is turned off with **--option**=*false*.\n\n")
	writeOptions(&b, info.Choices)
	b.WriteString(manWrap)
	writePlugins(&b, info.Choices)
	b.WriteString(manRest)
	writeEnvironment(&b)
	b.WriteString(manFiles + manExamples + manSeeAlso)
	return b.String()
}

// writeOptions lists every option, grouped by category when the flags have
// one (in the order the categories first appear).
func writeOptions(b *strings.Builder, ch Choices) {
	var order []string
	groups := map[string][]cli.DocGenerationFlag{}
	for _, f := range docFlags() {
		df, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		cat := ""
		if c, ok := f.(interface{ GetCategory() string }); ok {
			cat = c.GetCategory()
		}
		if _, seen := groups[cat]; !seen {
			order = append(order, cat)
		}
		groups[cat] = append(groups[cat], df)
	}
	// As in --help: the options without a category (--help, --version)
	// first, then the categories.
	if i := slices.Index(order, ""); i > 0 {
		order = append([]string{""}, slices.Delete(order, i, i+1)...)
	}
	for _, cat := range order {
		if cat != "" {
			b.WriteString("### " + mdEscape(cat) + "\n\n")
		}
		for _, f := range groups[cat] {
			writeOption(b, f, ch)
		}
	}
}

func writeOption(b *strings.Builder, f cli.DocGenerationFlag, ch Choices) {
	usage, placeholder := splitPlaceholder(f.GetUsage())
	name := f.Names()[0]
	if placeholder == "" {
		placeholder = valuePlaceholder(f, name)
	}
	var terms []string
	for _, n := range f.Names() {
		t := "**-" + mdEscape(n) + "**"
		if len(n) > 1 {
			t = "**--" + mdEscape(n) + "**"
		}
		if f.TakesValue() {
			t += " *" + mdEscape(placeholder) + "*"
		}
		terms = append(terms, t)
	}
	desc := mdEscape(usage)
	if !strings.HasSuffix(desc, ".") {
		desc += "."
	}
	if vals := ch.choices(name); len(vals) > 0 && !mentionsAll(usage, vals) {
		desc += " One of: " + mdEscape(strings.Join(vals, ", ")) + "."
	}
	if def := defaultText(f); def != "" {
		desc += " Default: " + mdEscape(def) + "."
	}
	if env := f.GetEnvVars(); len(env) > 0 {
		desc += " Environment: " + mdEscape("$"+strings.Join(env, ", $")) + "."
	}
	fmt.Fprintf(b, "%s\n:   %s\n\n", strings.Join(terms, ", "), desc)
}

// splitPlaceholder takes the `NAME` marker out of a usage string, as the
// help output does.
func splitPlaceholder(usage string) (text, name string) {
	i := strings.IndexByte(usage, '`')
	if i < 0 {
		return usage, ""
	}
	j := strings.IndexByte(usage[i+1:], '`')
	if j < 0 {
		return usage, ""
	}
	name = usage[i+1 : i+1+j]
	return usage[:i] + name + usage[i+2+j:], name
}

func valuePlaceholder(f cli.DocGenerationFlag, name string) string {
	switch {
	case dirFlags[name]:
		return "DIR"
	case takesFile(f):
		return "FILE"
	case name == flagTokenPlugin || name == flagAuthPlugin:
		return "CLASS"
	case valueChoices[name] != nil:
		return strings.ToUpper(strings.ReplaceAll(name, "-", "_"))
	}
	return "VALUE"
}

// takesFile reports whether the option names a file (TakesFile in its
// definition).
func takesFile(f cli.Flag) bool {
	switch f := f.(type) {
	case *cli.StringFlag:
		return f.TakesFile
	case *cli.PathFlag:
		return f.TakesFile
	case *cli.GenericFlag:
		return f.TakesFile
	}
	return false
}

// defaultText is the default value shown for f, or "" when it has none
// worth showing (empty strings, zero numbers, false).
func defaultText(f cli.DocGenerationFlag) string {
	d := f.GetDefaultText()
	if d == "" {
		d = f.GetValue()
	}
	switch d {
	case "", "0", "false", `""`:
		return ""
	}
	return strings.Trim(d, `"`)
}

func mentionsAll(usage string, vals []string) bool {
	for _, v := range vals {
		if !strings.Contains(usage, v) {
			return false
		}
	}
	return true
}

func synopsisLine(line string) string {
	words := strings.Fields(line)
	for i, w := range words {
		switch {
		case i == 0 || (i == 1 && (w == "rebind" || w == "probe" || w == "sessions")) || w == "--":
			words[i] = "**" + mdEscape(w) + "**"
		default:
			words[i] = mdEscape(w)
		}
	}
	return strings.Join(words, " ")
}

func writePlugins(b *strings.Builder, ch Choices) {
	b.WriteString("# PLUGINS\n\n")
	b.WriteString("**--token-plugin** chooses the target of each connection from a token " +
		"(the *token* query parameter, the *Host* header with **--host-token**, a cookie with " +
		"**--token-cookie**, the last path segment with **--token-path**). Classes: " +
		mdEscape(strings.Join(ch.TokenPlugins, ", ")) + ". **--token-source** is the class's argument.\n\n")
	b.WriteString("**--auth-plugin** decides whether a connection may proceed. Classes: " +
		mdEscape(strings.Join(ch.AuthPlugins, ", ")) + ". **--auth-source** is the class's argument.\n\n")
	b.WriteString("Class names may also be given in full, as the reference spells them " +
		"(websockify.token\\_plugins.TokenFile, websockify.auth\\_plugins.BasicHTTPAuth).\n\n")
}

func writeEnvironment(b *strings.Builder) {
	b.WriteString("# ENVIRONMENT\n\n")
	for _, f := range docFlags() {
		df, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		for _, env := range df.GetEnvVars() {
			fmt.Fprintf(b, "**%s**\n:   the value of **--%s** when the option is not given.\n\n", mdEscape(env), mdEscape(df.Names()[0]))
		}
	}
	b.WriteString("**XDG\\_RUNTIME\\_DIR**\n:   where **websockify rebind** caches the embedded rebind.so " +
		"(otherwise the user's cache directory).\n\n")
	b.WriteString("**LISTEN\\_FDS**, **LISTEN\\_PID**\n:   systemd socket activation: serve the one listening socket passed " +
		"instead of binding the command line's address (not with **--inetd**).\n\n")
	b.WriteString("**NOTIFY\\_SOCKET**, **WATCHDOG\\_USEC**\n:   systemd notifications: READY=1 once listening (and once the wrapped " +
		"program listens), STOPPING=1, RELOADING=1, STATUS= with the open sessions, WATCHDOG=1 every half WATCHDOG\\_USEC.\n\n")
}

// mdEscape escapes the characters markdown would take as formatting.
func mdEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if strings.ContainsRune("\\`*_[]<>#|", r) {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

const manDescription = `# DESCRIPTION

**websockify** accepts WebSocket connections and relays their bytes to a TCP or Unix-socket
target and back, so that a web page can reach a VNC server, a telnet daemon or any TCP
service. It accepts the command lines of the Python websockify it replaces and serves every
connection from one process.

The listening port also serves TLS (wss://, when **--cert** names a certificate or the default
*self.pem* exists), plain HTTP files with **--web**, and the built-in pages with
**--web-builtin**. The target comes from the command line, from a token plugin
(**--token-plugin**), or is a program that **websockify** starts and wraps.
`

const manWrap = `# WRAPPING A PROGRAM

**websockify** *PORT* **--** *PROGRAM* [*ARGS*...] starts *PROGRAM* (without a shell) with the
shim *rebind.so* preloaded (LD\_PRELOAD; the shim is embedded in the binary). When *PROGRAM*
binds *PORT*, the shim moves that bind to a free loopback port; **websockify** listens on
*PORT* itself and relays each WebSocket session to the program.

**--wrap-mode**=*exit* (the default) exits with the program's status when it exits;
*ignore* keeps serving (for programs that daemonize, such as vncserver); *respawn* restarts
it, after 1 s doubling up to 30 s. On shutdown the program and all its descendants get
SIGTERM, then SIGKILL after **--wrap-grace** seconds.

The shim has no effect on statically linked programs, Go programs, setuid or file-capability
programs and programs of another architecture or libc; **websockify** says so before starting
such a program.

**websockify rebind** *OLD\_PORT* *NEW\_PORT* *PROGRAM* [*ARGS*...] runs *PROGRAM* with the
shim only: its binds of *OLD\_PORT* go to loopback *NEW\_PORT*.

# ADMIN LISTENER

**--admin-listen** *HOST:PORT* or **unix:***/path* (a socket of mode 0600) serves, never on the
public port: */metrics* (Prometheus metrics: sessions by driver and close cause, bytes each way,
refused handshakes by reason, handshake, dial and token-lookup latencies, TLS failures, the
wrapped program, the Go runtime and the process), */healthz* (200 while the process serves) and
*/readyz* (200 while it accepts sessions, else 503 with the reasons: the wrapped program not
listening, the token backend unreachable, a drain; *?deep=1* also dials the target). Private
endpoints (*/debug/pprof/*) need **Authorization: Bearer** with the token of
**--admin-token-file** on TCP. Every session's end is one log line with its client, target,
redacted token, driver, duration, bytes each way, close code and cause.

# PROBE

**websockify probe** [*options*] *URL* opens a WebSocket to *URL* (ws:// or wss://), optionally
sends data and waits for an answer, and exits 0 if all went well, 1 with the reason otherwise:
a health check for a running websockify. **websockify probe --help** lists its options.

# SESSIONS

**websockify sessions** [**--admin** *ADDR*] [**--admin-token-file** *FILE*] **list**|**show**|**kill** ...
lists and ends the sessions of a running websockify through its admin listener
(**--admin-listen**): **list** [**--all**] [**--json**], **show** *ID*, **kill** [**--reason** *TEXT*] *ID*...,
**kill** [**--all**] **--token** *TOKEN*. Ended sessions get close 1008 with the reason.
**websockify sessions --help** lists its options.

`

const manRest = `# EXIT STATUS

**0**
:   success, including shutdown on SIGTERM or SIGINT, **--help** and **--version**.

**1**
:   an error at startup or while serving (for example, the port is in use).

**2**
:   a command-line mistake: an unknown option, a bad value, a missing or extra argument.

*status*
:   with **--wrap-mode**=*exit*, the wrapped program's exit status, or 128+*N* when signal *N* killed it.

# SIGNALS

**SIGTERM**
:   stop accepting (the listening socket is closed); with **--drain-timeout**, let open sessions run until they end or the timeout passes; then close what is left with code 1001, stop the wrapped program, exit 0. A second SIGTERM skips the wait.

**SIGINT**
:   as SIGTERM without the wait: close every open session with code 1001 at once.

**SIGHUP**
:   reload the TLS certificate and key (open sessions keep theirs), and forward the signal to the wrapped program. Never fatal.

**SIGUSR2**
:   upgrade: start a new process of the binary at the same path, hand it the listening socket, the admin listener and the pid file, and once it serves, stop accepting and drain as on SIGTERM. A new process that fails leaves this one serving. Refused (logged) during an upgrade, while the previous process drains, in wrap mode, with **--inetd** and with **--run-once**.

`

const manFiles = `# FILES

*self.pem*
:   the default certificate (with the key, unless **--key** is given), in the working directory.

*/lib/systemd/system/websockify@.service*, */lib/systemd/system/websockify@.socket*, */etc/websockify/NAME.conf*
:   systemd units (in the Debian package): an instance per configuration file, which holds WEBSOCKIFY\_ARGS=*the command line*.

*/usr/share/bash-completion/completions/websockify*, */usr/share/zsh/vendor-completions/\_websockify*, */usr/share/fish/vendor\_completions.d/websockify.fish*
:   shell completion for bash, zsh and fish.

`

const manExamples = `# EXAMPLES

    websockify 6080 localhost:5900
    websockify --web /usr/share/novnc 6080 localhost:5900
    websockify --cert self.pem --ssl-only 6443 localhost:5900
    websockify 5901 --wrap-mode=ignore -- vncserver :1
    websockify --token-plugin TokenFile --token-source tokens.cfg 6080

`

const manSeeAlso = `# SEE ALSO

**novnc\_proxy**(1), https://github.com/novnc/websockify
`
