package registry

import (
	"slices"
	"strings"
	"testing"
)

func TestRegistry(t *testing.T) {
	r := New[int]("widget")
	r.Register("b", 2)
	r.Register("a", 1)
	if !slices.Equal(r.Names(), []string{"a", "b"}) || !slices.Equal(r.Values(), []int{1, 2}) {
		t.Fatalf("names %v, values %v", r.Names(), r.Values())
	}
	if v, err := r.Get("b"); err != nil || v != 2 {
		t.Fatalf("Get(b) = %v, %v", v, err)
	}
	if _, err := r.Get("c"); err == nil || !strings.Contains(err.Error(), `unknown widget "c" (known: a, b)`) {
		t.Fatalf("Get(c): %v", err)
	}
	r.Remove("a")
	if r.Has("a") || !r.Has("b") {
		t.Fatal("Remove")
	}
	defer func() {
		if p := recover(); p == nil || !strings.Contains(p.(string), `widget "b" registered twice`) {
			t.Fatalf("duplicate registration: %v", p)
		}
	}()
	r.Register("b", 3)
}
