package cmdline

import "github.com/urfave/cli/v2"

// suggest returns the option closest to the misspelt name, as "--name" (or
// "-n"), when it is close enough to be a typo; else "".
func suggest(name string, fl []cli.Flag) string {
	best, bestD := "", 0
	for _, f := range fl {
		for _, n := range f.Names() {
			d := editDistance(name, n)
			if len(n) > 1 && (best == "" || d < bestD) {
				best, bestD = n, d
			}
		}
	}
	// One edit per four letters, at least one and at most three.
	if best == "" || bestD > min(max(len(name)/4, 1), 3) {
		return ""
	}
	return "--" + best
}

// editDistance is the Levenshtein distance between a and b, with a swap
// of two neighbouring letters counting as one edit.
func editDistance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}
