// Package cmdline is websockify's command line: the reference's options
// and positional forms, parsed with urfave/cli into an immutable Config,
// with every cross-option rule checked before anything starts, and the
// help, man page and completions generated from the same flag definitions.
package cmdline
