package cmdline

import (
	"fmt"
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// Shells are the shells Completion writes scripts for.
var Shells = []string{"bash", "zsh", "fish"}

// Completion returns the completion script for shell, generated from the
// option definitions of --help: option names, the values of options that
// take one of a list (--wrap-mode, the plugin classes of ch), files and
// directories, and the wrapped program after "--".
func Completion(shell string, ch Choices) (string, error) {
	switch shell {
	case "bash":
		return bashCompletion(ch), nil
	case "zsh":
		return zshCompletion(ch), nil
	case "fish":
		return fishCompletion(ch)
	}
	return "", fmt.Errorf("no completion for shell %q (known: %s)", shell, strings.Join(Shells, ", "))
}

// completionFlag is what the scripts need to know about one option.
type completionFlag struct {
	names   []string // with dashes: --verbose, -v
	usage   string   // without the `NAME` marker
	value   bool     // takes a value
	file    bool
	dir     bool
	choices []string
}

func completionFlags(ch Choices) []completionFlag {
	var out []completionFlag
	for _, f := range docFlags() {
		df, ok := f.(cli.DocGenerationFlag)
		if !ok {
			continue
		}
		usage, _ := splitPlaceholder(df.GetUsage())
		name := df.Names()[0]
		cf := completionFlag{usage: usage, value: df.TakesValue(), choices: ch.choices(name)}
		cf.dir = dirFlags[name]
		cf.file = takesFile(f) && !cf.dir
		for _, n := range df.Names() {
			if len(n) == 1 {
				cf.names = append(cf.names, "-"+n)
			} else {
				cf.names = append(cf.names, "--"+n)
			}
		}
		out = append(out, cf)
	}
	return out
}

func bashCompletion(ch Choices) string {
	var all []string
	cases := map[string][]string{} // shell action -> option names
	var order []string
	for _, f := range completionFlags(ch) {
		all = append(all, f.names...)
		if !f.value {
			continue
		}
		var action string
		switch {
		case len(f.choices) > 0:
			action = fmt.Sprintf("_websockify_reply -W %s", shellQuote(strings.Join(f.choices, " ")))
		case f.dir:
			action = "_websockify_reply -d; compopt -o filenames 2>/dev/null"
		case f.file:
			action = "_websockify_reply -f; compopt -o filenames 2>/dev/null"
		default:
			action = "COMPREPLY=()"
		}
		if _, ok := cases[action]; !ok {
			order = append(order, action)
		}
		cases[action] = append(cases[action], f.names...)
	}
	var b strings.Builder
	b.WriteString(`# bash completion for websockify(1); generated from its option definitions.

# _websockify_reply COMPGEN-ARGS: COMPREPLY from compgen for $cur, with
# $prefix (an "--option=" bash did not split off) put back in front.
_websockify_reply() {
    local w
    COMPREPLY=()
    while IFS= read -r w; do
        [[ -n $w ]] && COMPREPLY+=("$prefix$w")
    done < <(compgen "$@" -- "$cur")
}

_websockify() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev= opt= prefix= i
    ((COMP_CWORD > 0)) && prev=${COMP_WORDS[COMP_CWORD-1]}

    # After "--": the wrapped program, then its arguments.
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ ${COMP_WORDS[i]} == -- ]]; then
            if declare -F _command_offset >/dev/null; then
                _command_offset $((i + 1))
            elif ((COMP_CWORD == i + 1)); then
                _websockify_reply -c
            else
                _websockify_reply -f
            fi
            return
        fi
    done

    # The option whose value is being completed: "--opt VALUE", or
    # "--opt=VALUE" split by bash at "=" (COMP_WORDBREAKS) or not.
    if [[ $cur == = && $prev == -* ]]; then
        opt=$prev cur=
    elif [[ $prev == = ]] && ((COMP_CWORD > 1)); then
        opt=${COMP_WORDS[COMP_CWORD-2]}
    elif [[ $cur == --*=* ]]; then
        opt=${cur%%=*} prefix=${cur%%=*}= cur=${cur#*=}
    elif [[ $prev == -* ]]; then
        opt=$prev
    fi
    case $opt in
`)
	for _, action := range order {
		fmt.Fprintf(&b, "    %s)\n        %s\n        return ;;\n", strings.Join(cases[action], "|"), action)
	}
	fmt.Fprintf(&b, `    esac

    if [[ $cur == -* ]]; then
        _websockify_reply -W %s
        return
    fi
    if ((COMP_CWORD == 1)); then
        _websockify_reply -W 'probe rebind sessions'
    fi
}
complete -F _websockify websockify
`, shellQuote(strings.Join(all, " ")))
	return b.String()
}

func zshCompletion(ch Choices) string {
	var b strings.Builder
	b.WriteString(`#compdef websockify
# zsh completion for websockify(1); generated from its option definitions.

_websockify() {
    # After "--": the wrapped program, completed as a command line of its own.
    local dd=${words[(i)--]}
    if (( dd < CURRENT )); then
        words=("${(@)words[dd+1,-1]}")
        (( CURRENT -= dd ))
        _normal
        return
    fi
    if (( CURRENT == 2 )) && [[ $words[2] != -* ]]; then
        _alternative 'subcommand:subcommand:(probe rebind sessions)' 'listen:[source_addr\:]source_port: '
        return
    fi
    _arguments -s -S \
`)
	for _, f := range completionFlags(ch) {
		names := slices.Clone(f.names)
		if f.value {
			for i, n := range names {
				if strings.HasPrefix(n, "--") {
					names[i] = n + "="
				} else {
					names[i] = n + "+"
				}
			}
		}
		rest := "[" + zshEscape(f.usage) + "]"
		if f.value {
			rest += ":" + zshValueSpec(f)
		}
		if len(names) == 1 {
			fmt.Fprintf(&b, "        '%s%s' \\\n", names[0], rest)
		} else {
			fmt.Fprintf(&b, "        '(%s)'{%s}'%s' \\\n", strings.Join(f.names, " "), strings.Join(names, ","), rest)
		}
	}
	b.WriteString(`        '1:[source_addr\:]source_port: ' \
        '2:target_addr\:target_port: '
}

if [ "$funcstack[1]" = "_websockify" ]; then
    _websockify "$@"
else
    compdef _websockify websockify
fi
`)
	return b.String()
}

func zshValueSpec(f completionFlag) string {
	msg := "value"
	action := " "
	switch {
	case len(f.choices) > 0:
		msg = strings.TrimPrefix(f.names[0], "--")
		action = "(" + strings.Join(f.choices, " ") + ")"
	case f.dir:
		msg, action = "directory", "_files -/"
	case f.file:
		msg, action = "file", "_files"
	}
	return msg + ":" + action
}

// zshEscape makes s safe inside a single-quoted _arguments description.
func zshEscape(s string) string {
	r := strings.NewReplacer(`\`, `\\`, `[`, `\[`, `]`, `\]`, `'`, `'\''`, `:`, `\:`)
	return r.Replace(s)
}

func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// fishCompletion is urfave/cli's fish script for the flags, with the
// values of choice options, directories for --web and "rebind" added.
func fishCompletion(ch Choices) (string, error) {
	app := &cli.App{Name: "websockify", Usage: appUsage, Version: "-", Flags: flags(), HideHelpCommand: true}
	setVersionFlag()
	script, err := app.ToFishCompletion()
	if err != nil {
		return "", fmt.Errorf("fish completion: %w", err)
	}
	lines := strings.Split(strings.ReplaceAll(script, "`", ""), "\n")
	for _, f := range completionFlags(ch) {
		long := " -l " + strings.TrimPrefix(f.names[0], "--") + " "
		i := slices.IndexFunc(lines, func(l string) bool { return strings.Contains(l, long) })
		if i < 0 {
			return "", fmt.Errorf("fish completion: no line for %s", f.names[0])
		}
		switch {
		case len(f.choices) > 0:
			lines[i] = strings.Replace(lines[i], long, long+"-x -a "+shellQuote(strings.Join(f.choices, " "))+" ", 1)
		case f.dir:
			lines[i] = strings.Replace(lines[i], long, long+"-x -a '(__fish_complete_directories (commandline -ct))' ", 1)
		}
	}
	script = strings.Join(lines, "\n")
	script = strings.Replace(script, "# websockify fish shell completion\n",
		"# fish completion for websockify(1); generated from its option definitions.\n", 1)
	script += "complete -c websockify -n '__fish_is_first_arg' -f -a rebind -d 'run a program with its binds of OLD_PORT moved to loopback NEW_PORT'\n" +
		"complete -c websockify -n '__fish_is_first_arg' -f -a probe -d 'check a running websockify: open a WebSocket, exit 0 or 1'\n" +
		"complete -c websockify -n '__fish_is_first_arg' -f -a sessions -d 'list and end the sessions of a running websockify'\n"
	return script, nil
}
