package admin

import (
	"context"
	"fmt"
	"net/http"
	"sort"
	"sync"
	"time"
)

// Readiness is whether the process accepts sessions: ready unless some
// part has said why not. The zero value is ready; it is safe for
// concurrent use.
type Readiness struct {
	mu      sync.Mutex
	reasons map[string]string
}

// Set marks the process not ready for the reason named name (e.g.
// "draining"), replacing that name's previous reason.
func (r *Readiness) Set(name, reason string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reasons == nil {
		r.reasons = make(map[string]string)
	}
	r.reasons[name] = reason
}

// Clear withdraws the reason named name.
func (r *Readiness) Clear(name string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	delete(r.reasons, name)
}

// Ready reports whether no reason is set, and the reasons ("name: reason",
// sorted) when some are.
func (r *Readiness) Ready() (bool, []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.reasons) == 0 {
		return true, nil
	}
	out := make([]string, 0, len(r.reasons))
	for name, reason := range r.reasons {
		if reason == "" {
			out = append(out, name)
		} else {
			out = append(out, name+": "+reason)
		}
	}
	sort.Strings(out)
	return false, out
}

// DeepTimeout bounds a deep readiness check.
const DeepTimeout = 3 * time.Second

// Healthz answers 200 "ok": the process serves HTTP.
func Healthz() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		noStore(w)
		fmt.Fprintln(w, "ok")
	})
}

// Readyz answers 200 "ready" while r is ready, else 503 with one reason a
// line. With ?deep=1 it also runs deep (when set), such as a dial of the
// target, within DeepTimeout; its error is a reason too.
func Readyz(r *Readiness, deep func(ctx context.Context) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		noStore(w)
		ok, reasons := r.Ready()
		if d := req.URL.Query().Get("deep"); deep != nil && d != "" && d != "0" && d != "false" {
			ctx, cancel := context.WithTimeout(req.Context(), DeepTimeout)
			err := deep(ctx)
			cancel()
			if err != nil {
				ok, reasons = false, append(reasons, "deep check: "+err.Error())
			}
		}
		if ok {
			fmt.Fprintln(w, "ready")
			return
		}
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintln(w, "not ready")
		for _, s := range reasons {
			fmt.Fprintln(w, s)
		}
	})
}

func noStore(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
}
