package tokens

import (
	"encoding/json"
	"os"
	"slices"
	"testing"
)

// The reference's vectors (tests/test_token_plugins.py).
var parseSourceArgsVectors = []struct {
	src  string
	want []string
}{
	{``, []string{``}},
	{`:`, []string{``, ``}},
	{`::`, []string{``, ``, ``}},
	{`"`, []string{`"`}},
	{`""`, []string{`""`}},
	{`"""`, []string{`"""`}},
	{`"localhost"`, []string{`localhost`}},
	{`"localhost":`, []string{`localhost`, ``}},
	{`"localhost"::`, []string{`localhost`, ``, ``}},
	{`"local:host"`, []string{`local:host`}},
	{`"local:host:"pass"`, []string{`"local`, `host`, `pass`}},
	{`"local":"host"`, []string{`local`, `host`}},
	{`"local":host"`, []string{`local`, `host"`}},
	{`localhost:6379:1:pass"word:"my-app-namespace:dev"`, []string{`localhost`, `6379`, `1`, `pass"word`, `my-app-namespace:dev`}},
}

func TestParseSourceArgs(t *testing.T) {
	for _, tc := range parseSourceArgsVectors {
		if got := ParseSourceArgs(tc.src); !slices.Equal(got, tc.want) {
			t.Errorf("ParseSourceArgs(%q) = %q; want %q", tc.src, got, tc.want)
		}
	}
}

// TestParseSourceArgsDifferential replays inputs whose expected fields
// were produced by the reference's regular expression under Python 3.11
// (testdata/gen_parse_source_args.py).
func TestParseSourceArgsDifferential(t *testing.T) {
	data, err := os.ReadFile("testdata/parse_source_args.json")
	if err != nil {
		t.Fatal(err)
	}
	var cases [][2]json.RawMessage
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		var src string
		var want []string
		if err := json.Unmarshal(c[0], &src); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(c[1], &want); err != nil {
			t.Fatal(err)
		}
		if got := ParseSourceArgs(src); !slices.Equal(got, want) {
			t.Errorf("ParseSourceArgs(%q) = %q; want %q", src, got, want)
		}
	}
	if len(cases) < 300 {
		t.Fatalf("only %d differential cases", len(cases))
	}
}
