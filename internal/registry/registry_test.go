package registry

import (
	"errors"
	"slices"
	"testing"
)

type opts struct{ suffix string }

func testRegistry() *Registry[string, opts] {
	return New("test", "pkg.test_plugins.", map[string]Constructor[string, opts]{
		"Echo": func(source string, o opts) (string, error) { return source + o.suffix, nil },
		"Fail": func(string, opts) (string, error) { return "", errors.New("no source") },
	})
}

func TestNames(t *testing.T) {
	if got := testRegistry().Names(); !slices.Equal(got, []string{"Echo", "Fail"}) {
		t.Errorf("Names() = %q", got)
	}
}

func TestNew(t *testing.T) {
	r := testRegistry()
	for _, name := range []string{"Echo", "pkg.test_plugins.Echo"} {
		p, err := r.New(name, "src", opts{suffix: "!"})
		if err != nil || p != "src!" {
			t.Errorf("New(%q) = %q, %v; want src!", name, p, err)
		}
	}
}

func TestNewErrors(t *testing.T) {
	r := testRegistry()
	for _, tc := range []struct{ name, want string }{
		{"Nope", `unknown test plugin "Nope" (known: Echo, Fail)`},
		{"other.Echo", `unknown test plugin "other.Echo" (known: Echo, Fail)`},
		{"pkg.test_plugins.Fail", "test plugin Fail: no source"},
	} {
		_, err := r.New(tc.name, "src", opts{})
		if err == nil || err.Error() != tc.want {
			t.Errorf("New(%q) error = %v, want %q", tc.name, err, tc.want)
		}
	}
}
