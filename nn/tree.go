package nn

import (
	"cmp"
	"errors"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"github.com/loomml/loom/autograd"
)

// The module tree. A model is a tree of modules held in exported struct
// fields (or slices of them); Walk visits it, and Replace swaps a module of
// a built or loaded model for another — how parameter-efficient methods
// (LoRA, adapters) are injected. Parameters keep their checkpoint names, so
// the base weights of a model with a module replaced still load and save
// under the same names.

// Node is one module of a tree.
type Node struct {
	// Path is the Go path from the root: "Layers[3].Attn.Q".
	Path string
	// Name is the checkpoint prefix of the module's parameters, as Hugging
	// Face names modules: "model.layers.3.self_attn.q_proj" ("" for the
	// root and for modules without parameters).
	Name   string
	Module Module
	Depth  int

	set func(Module) error
}

// Set replaces the module in its parent. It fails when the parent's field
// cannot hold m's type (a field of a concrete type rather than an
// interface such as Layer) or the node is the root.
func (n *Node) Set(m Module) error {
	if n.set == nil {
		return fmt.Errorf("nn: %s cannot be replaced (the root)", n.label())
	}
	return n.set(m)
}

func (n *Node) label() string {
	if n.Name != "" {
		return fmt.Sprintf("module %s (%s)", n.Name, n.Path)
	}
	return "module " + cmp.Or(n.Path, "<root>")
}

// SkipChildren, returned by a Walk function, skips the node's submodules.
var SkipChildren = errors.New("nn: skip children")

// Walk calls fn for root and every module below it, parents before
// children, in field order. Fields are walked when they are exported and
// hold a Module (directly, as an interface, or in a slice or array).
func Walk(root Module, fn func(n *Node) error) error {
	return walk(&Node{Module: root, Name: ModuleName(root)}, fn, map[any]bool{})
}

func walk(n *Node, fn func(*Node) error, onPath map[any]bool) error {
	if err := fn(n); err != nil {
		if errors.Is(err, SkipChildren) {
			return nil
		}
		return err
	}
	v := reflect.ValueOf(n.Module)
	if v.Kind() == reflect.Pointer {
		if v.IsNil() || onPath[n.Module] {
			return nil
		}
		onPath[n.Module] = true
		defer delete(onPath, n.Module)
		v = v.Elem()
	}
	if v.Kind() != reflect.Struct {
		return nil
	}
	t := v.Type()
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		switch fv.Kind() {
		case reflect.Slice, reflect.Array:
			for j := range fv.Len() {
				if err := visit(n, fv.Index(j), f.Name+"["+strconv.Itoa(j)+"]", fn, onPath); err != nil {
					return err
				}
			}
		default:
			if err := visit(n, fv, f.Name, fn, onPath); err != nil {
				return err
			}
		}
	}
	return nil
}

var moduleType = reflect.TypeFor[Module]()

// visit walks the module held in slot (a field or element), if any.
func visit(parent *Node, slot reflect.Value, name string, fn func(*Node) error, onPath map[any]bool) error {
	switch slot.Kind() {
	case reflect.Interface, reflect.Pointer, reflect.Func, reflect.Map, reflect.Slice:
		if slot.IsNil() {
			return nil
		}
	}
	if !slot.Type().Implements(moduleType) && !(slot.Kind() == reflect.Interface && slot.Elem().Type().Implements(moduleType)) {
		return nil
	}
	m, ok := slot.Interface().(Module)
	if !ok || m == nil {
		return nil
	}
	path := name
	if parent.Path != "" {
		path = parent.Path + "." + name
	}
	child := &Node{Path: path, Name: ModuleName(m), Module: m, Depth: parent.Depth + 1}
	if slot.CanSet() {
		child.set = func(r Module) error {
			rv := reflect.ValueOf(r)
			if r == nil || !rv.Type().AssignableTo(slot.Type()) {
				return fmt.Errorf("nn: %s is held in a field of type %v, which cannot hold a %T", child.label(), slot.Type(), r)
			}
			slot.Set(rv)
			child.Module = r
			return nil
		}
	}
	return walk(child, fn, onPath)
}

// Modules returns every node of the tree, parents first.
func Modules(root Module) []*Node {
	var out []*Node
	Walk(root, func(n *Node) error { out = append(out, n); return nil })
	return out
}

// Find returns the outermost module whose Name or Path is name.
func Find(root Module, name string) (*Node, error) {
	var found *Node
	Walk(root, func(n *Node) error {
		if found == nil && (n.Name == name || n.Path == name) && n.Depth > 0 {
			found = n
			return SkipChildren
		}
		return nil
	})
	if found == nil {
		return nil, fmt.Errorf("nn: no module named %q", name)
	}
	return found, nil
}

// Replace swaps the outermost module named name (a checkpoint name such as
// "model.layers.0.self_attn.q_proj", or a Go path) for what f returns given
// the current one.
func Replace(root Module, name string, f func(old Module) (Module, error)) error {
	n, err := Find(root, name)
	if err != nil {
		return err
	}
	m, err := f(n.Module)
	if err != nil {
		return fmt.Errorf("%s: %w", n.label(), err)
	}
	return n.Set(m)
}

// ReplaceAll swaps every module for which match holds (outermost ones;
// their submodules are not visited) for what f returns, and returns how
// many were replaced. PEFT's target_modules are a match on the last part
// of the name: strings.HasSuffix(n.Name, ".q_proj").
func ReplaceAll(root Module, match func(n *Node) bool, f func(n *Node) (Module, error)) (int, error) {
	count := 0
	err := Walk(root, func(n *Node) error {
		if n.Depth == 0 || !match(n) {
			return nil
		}
		m, err := f(n)
		if err != nil {
			return fmt.Errorf("%s: %w", n.label(), err)
		}
		if err := n.Set(m); err != nil {
			return err
		}
		count++
		return SkipChildren
	})
	return count, err
}

// ModuleName returns the checkpoint prefix shared by m's parameters: the
// longest common run of dotted parts of their names, without the last
// part of a lone parameter's name ("" when m has no parameters or they
// share no prefix).
func ModuleName(m Module) string {
	ps := m.Params()
	if len(ps) == 0 {
		return ""
	}
	common := strings.Split(ps[0].Name, ".")
	common = common[:len(common)-1]
	for _, p := range ps[1:] {
		parts := strings.Split(p.Name, ".")
		n := 0
		for n < len(common) && n < len(parts)-1 && common[n] == parts[n] {
			n++
		}
		common = common[:n]
	}
	return strings.Join(common, ".")
}

// Freeze stops training of every parameter of m: frozen parameters get no
// gradients, so optimizers keep no state for them and leave them as they
// are.
func Freeze(m Module) {
	for _, p := range m.Params() {
		p.Freeze()
	}
}

// Unfreeze makes every parameter of m trainable again.
func Unfreeze(m Module) {
	for _, p := range m.Params() {
		p.SetRequiresGrad(true)
	}
}

// Trainable returns the parameters of ps that are not frozen.
func Trainable(ps []*autograd.Var) []*autograd.Var {
	var out []*autograd.Var
	for _, p := range ps {
		if !p.Frozen() {
			out = append(out, p)
		}
	}
	return out
}

// LinearsIn returns the linear layers that have a weight inside the
// modules (a model's blocks), in walk order.
func LinearsIn[M Module](modules []M) []*Linear {
	var out []*Linear
	for _, m := range modules {
		Walk(m, func(n *Node) error {
			if l, ok := n.Module.(*Linear); ok && l != nil && l.Weight != nil {
				out = append(out, l)
			}
			return nil
		})
	}
	return out
}
