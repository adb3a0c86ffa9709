package main

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
)

// refName is the reference websockify's name in the tables.
const refName = "websockify-py"

// results collects every run's figure per workload and proxy.
type results struct {
	vals  map[string][]float64
	extra map[string][]map[string]string
	errs  map[string][]string
}

func newResults() *results {
	return &results{vals: map[string][]float64{}, extra: map[string][]map[string]string{}, errs: map[string][]string{}}
}

func rkey(w, p string) string { return w + "\x00" + p }

func (r *results) add(w, p string, m measure, err error) {
	k := rkey(w, p)
	if err != nil {
		r.errs[k] = append(r.errs[k], err.Error())
		return
	}
	r.vals[k] = append(r.vals[k], m.value)
	r.extra[k] = append(r.extra[k], m.extra)
	for suffix, v := range m.also {
		k := rkey(w+suffix, p)
		r.vals[k] = append(r.vals[k], v)
		r.extra[k] = append(r.extra[k], nil)
	}
}

// median of the successful runs; ok is false when there were none.
func (r *results) median(w, p string) (float64, bool) {
	v := append([]float64(nil), r.vals[rkey(w, p)]...)
	if len(v) == 0 {
		return 0, false
	}
	sort.Float64s(v)
	if len(v)%2 == 1 {
		return v[len(v)/2], true
	}
	return (v[len(v)/2-1] + v[len(v)/2]) / 2, true
}

func format(v float64) string {
	switch {
	case v >= 100:
		return fmt.Sprintf("%.0f", v)
	case v >= 10:
		return fmt.Sprintf("%.1f", v)
	default:
		return fmt.Sprintf("%.2f", v)
	}
}

// print writes the table: medians, then ratios of every proxy to the plain
// relay (for wss:// rows: to the same proxy over ws://), then the secondary
// figures and errors.
func (r *results) print(out io.Writer, wls []workload, specs []proxySpec) {
	var head, sep []string
	head = append(head, "workload")
	for _, s := range specs {
		head = append(head, s.name)
	}
	for _, s := range specs[1:] {
		head = append(head, s.name+" ratio")
	}
	vsRef := slices.ContainsFunc(specs, func(s proxySpec) bool { return s.name == "ours" }) &&
		slices.ContainsFunc(specs, func(s proxySpec) bool { return s.name == refName })
	if vsRef {
		head = append(head, "ours ÷ "+refName)
	}
	for range head {
		sep = append(sep, "---")
	}
	fmt.Fprintf(out, "| %s |\n|%s|\n", strings.Join(head, " | "), strings.Join(sep, "|"))
	for _, w := range expandRows(wls) {
		row := []string{w.title + " (" + w.unit + ")"}
		for _, s := range specs {
			if v, ok := r.median(w.key, s.name); ok {
				row = append(row, format(v))
			} else {
				row = append(row, "n/a")
			}
		}
		for _, s := range specs[1:] {
			base, bp := specs[0].name, ""
			if w.wss {
				base, bp = s.name, w.ws
			} else {
				bp = w.key
			}
			v, ok1 := r.median(w.key, s.name)
			b, ok2 := r.median(bp, base)
			if ok1 && ok2 && b > 0 {
				row = append(row, fmt.Sprintf("%.2f×", v/b))
			} else {
				row = append(row, "n/a")
			}
		}
		if vsRef {
			v, ok1 := r.median(w.key, "ours")
			b, ok2 := r.median(w.key, refName)
			if ok1 && ok2 && b > 0 {
				row = append(row, fmt.Sprintf("%.2f×", v/b))
			} else {
				row = append(row, "n/a")
			}
		}
		fmt.Fprintf(out, "| %s |\n", strings.Join(row, " | "))
	}
	fmt.Fprintln(out, "\nRatios are to the plain relay in the same run; wss:// rows are to the same proxy over ws://.")
	r.printSealBound(out, specs)
	fmt.Fprintln(out, "\nDetails (every run):")
	for _, w := range expandRows(wls) {
		for _, s := range specs {
			k := rkey(w.key, s.name)
			var parts []string
			for i, v := range r.vals[k] {
				p := format(v)
				var ex []string
				for name, x := range r.extra[k][i] {
					ex = append(ex, name+" "+x)
				}
				sort.Strings(ex)
				if len(ex) > 0 {
					p += " (" + strings.Join(ex, ", ") + ")"
				}
				parts = append(parts, p)
			}
			for _, e := range r.errs[k] {
				parts = append(parts, "error: "+e)
			}
			if len(parts) > 0 {
				fmt.Fprintf(out, "  %-9s %-14s %s\n", w.key, s.name, strings.Join(parts, "; "))
			}
		}
	}
}

// expandRows returns the workloads with each further row as a workload of
// its own, keyed w.key+suffix, after its workload.
func expandRows(wls []workload) []workload {
	var out []workload
	for _, w := range wls {
		out = append(out, w)
		for _, r := range w.rows {
			x := w
			x.key, x.title, x.rows = w.key+r.suffix, r.title, nil
			if w.wss {
				x.ws = w.ws + r.suffix
			}
			out = append(out, x)
		}
	}
	return out
}

// printSealBound prints the cost of TLS's cipher alone, measured in the same
// run, and what it implies for each proxy: its wss:// target→client can
// cost no less than its ws:// figure plus the cipher's.
func (r *results) printSealBound(out io.Writer, specs []proxySpec) {
	c, ok := r.median(aesKey, aesKey)
	if !ok {
		return
	}
	fmt.Fprintf(out, "\nAES-128-GCM alone (TLS 1.3 records of 16 KiB, one thread): %s s/GB.", format(c))
	for _, s := range specs {
		if v, ok := r.median("t2c", s.name); ok && !s.raw() && v > 0 {
			fmt.Fprintf(out, " %s: wss:// t2c ≥ %s + %s s/GB = %.2f× of ws:// at best.", s.name, format(v), format(c), (v+c)/v)
		}
	}
	fmt.Fprintln(out)
}
