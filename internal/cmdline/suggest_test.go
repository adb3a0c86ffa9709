package cmdline

import "testing"

func TestSuggest(t *testing.T) {
	fl := flags()
	for in, want := range map[string]string{
		"wbe": "--web", "web-bultin": "--web-builtin", "verbos": "--verbose", "ssl-onyl": "--ssl-only",
		"tokenplugin": "--token-plugin", "wrap-mod": "--wrap-mode", "no-such-option": "", "x": "", "certificate": "",
	} {
		if got := suggest(in, fl); got != want {
			t.Errorf("suggest(%q) = %q; want %q", in, got, want)
		}
	}
}

func FuzzEditDistance(f *testing.F) {
	f.Add("web", "wbe")
	f.Fuzz(func(t *testing.T, a, b string) {
		if len(a) > 64 || len(b) > 64 {
			return
		}
		d := editDistance(a, b)
		if d < 0 || d > max(len(a), len(b)) || (d == 0) != (a == b) || d != editDistance(b, a) {
			t.Fatalf("editDistance(%q, %q) = %d", a, b, d)
		}
	})
}
