// Package registry is the one name → value table behind loom's plug-in
// points (norms, activations, layouts, pruning methods, presets,
// reproductions, verbs…): entries register from init, a duplicate name is a
// programming error, and lookups of unknown names fail listing the known
// ones, sorted.
package registry

import (
	"fmt"
	"sort"
	"strings"
)

// Registry maps names to values of T. It is not safe for concurrent
// registration; entries register from init functions.
type Registry[T any] struct {
	kind string
	m    map[string]T
}

// New returns an empty registry; kind names its entries in messages
// ("norm", "layout", "method").
func New[T any](kind string) *Registry[T] {
	return &Registry[T]{kind: kind, m: map[string]T{}}
}

// Register adds name. It panics if name is already registered.
func (r *Registry[T]) Register(name string, v T) {
	if _, dup := r.m[name]; dup {
		panic(fmt.Sprintf("registry: %s %q registered twice", r.kind, name))
	}
	r.m[name] = v
}

// Lookup returns the value of name.
func (r *Registry[T]) Lookup(name string) (T, bool) {
	v, ok := r.m[name]
	return v, ok
}

// Get returns the value of name, or an error listing the known names.
func (r *Registry[T]) Get(name string) (T, error) {
	v, ok := r.m[name]
	if !ok {
		return v, fmt.Errorf("unknown %s %q (known: %s)", r.kind, name, strings.Join(r.Names(), ", "))
	}
	return v, nil
}

// Has reports whether name is registered.
func (r *Registry[T]) Has(name string) bool {
	_, ok := r.m[name]
	return ok
}

// Names returns the registered names, sorted.
func (r *Registry[T]) Names() []string {
	out := make([]string, 0, len(r.m))
	for n := range r.m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Values returns the values in the order of their sorted names.
func (r *Registry[T]) Values() []T {
	names := r.Names()
	out := make([]T, len(names))
	for i, n := range names {
		out[i] = r.m[n]
	}
	return out
}
