package registry

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Constructor builds a plugin for source, the --*-source value, with the
// options O of its package.
type Constructor[T, O any] func(source string, o O) (T, error)

// Registry maps plugin class names to constructors. Build one with
// New; it is read-only afterwards and safe for concurrent use.
type Registry[T, O any] struct {
	kind   string // what the plugins are, for errors: "auth", "token"
	prefix string // the reference's module path, with the trailing dot
	ctors  map[string]Constructor[T, O]
}

// New returns a registry of ctors, keyed by short class name.
// kind names the plugins in errors ("unknown <kind> plugin"); prefix is
// the module path the reference writes before a class name in full, such
// as "websockify.auth_plugins.".
func New[T, O any](kind, prefix string, ctors map[string]Constructor[T, O]) *Registry[T, O] {
	return &Registry[T, O]{kind: kind, prefix: prefix, ctors: maps.Clone(ctors)}
}

// Names lists the plugin names New accepts, sorted.
func (r *Registry[T, O]) Names() []string {
	return slices.Sorted(maps.Keys(r.ctors))
}

// New creates the plugin named name, short or prefixed with the module
// path, for source. An unknown name is an error that lists the known ones;
// a constructor's error is wrapped with the plugin's short name.
func (r *Registry[T, O]) New(name, source string, o O) (T, error) {
	var zero T
	short := strings.TrimPrefix(name, r.prefix)
	c, ok := r.ctors[short]
	if !ok {
		return zero, fmt.Errorf("unknown %s plugin %q (known: %s)", r.kind, name, strings.Join(r.Names(), ", "))
	}
	p, err := c(source, o)
	if err != nil {
		return zero, fmt.Errorf("%s plugin %s: %w", r.kind, short, err)
	}
	return p, nil
}
