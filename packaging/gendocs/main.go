// Command gendocs writes websockify's man page and shell completions,
// generated from the option definitions that --help prints:
//
//	gendocs -version V -date YYYY-MM-DD -out DIR
//
// writes DIR/websockify.1, DIR/websockify.bash, DIR/_websockify (zsh) and
// DIR/websockify.fish.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"

	"github.com/websockify-go/websockify/auth"
	"github.com/websockify-go/websockify/internal/cmdline"
	"github.com/websockify-go/websockify/tokens"
)

func main() {
	version := flag.String("version", "", "version, as --version prints it")
	date := flag.String("date", "", "release date, YYYY-MM-DD")
	out := flag.String("out", ".", "output directory")
	flag.Parse()
	if err := run(*version, *date, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gendocs:", err)
		os.Exit(1)
	}
}

func run(version, date, out string) error {
	if version == "" || date == "" {
		return fmt.Errorf("-version and -date are required")
	}
	ch := cmdline.Choices{TokenPlugins: tokens.Names(), AuthPlugins: auth.Names()}
	files := map[string][]byte{
		"websockify.1": cmdline.ManPage(cmdline.ManInfo{Version: version, Date: date, Choices: ch}),
	}
	names := map[string]string{"bash": "websockify.bash", "zsh": "_websockify", "fish": "websockify.fish"}
	for _, sh := range cmdline.Shells {
		s, err := cmdline.Completion(sh, ch)
		if err != nil {
			return err
		}
		files[names[sh]] = []byte(s)
	}
	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for name, data := range files {
		if err := os.WriteFile(filepath.Join(out, name), data, 0o644); err != nil {
			return err
		}
	}
	return nil
}
