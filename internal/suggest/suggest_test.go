package suggest

import (
	"slices"
	"testing"
)

func TestNearest(t *testing.T) {
	keys := []string{"model", "train"}
	for _, c := range []struct{ word, want string }{
		{"trian", "train"},
		{"Train", "train"},
		{"modle", "model"},
		{"optimizer", ""},
		{"", ""},
	} {
		if got := Nearest(c.word, keys); got != c.want {
			t.Errorf("Nearest(%q) = %q, want %q", c.word, got, c.want)
		}
	}
	if got := DidYouMean("lyout", []string{"layout", "norm"}); got != `; did you mean "layout"?` {
		t.Errorf("DidYouMean: %q", got)
	}
	if got := DidYouMean("zzzzzz", []string{"layout", "norm"}); got != "; want one of layout, norm" {
		t.Errorf("DidYouMean: %q", got)
	}
}

func TestJSONKeysAndUnknown(t *testing.T) {
	type inner struct {
		A int `json:"a"`
	}
	type outer struct {
		inner
		B    int `json:"b,omitempty"`
		C    int `json:"-"`
		D    int
		priv int
	}
	if got := JSONKeys(&outer{}); !slices.Equal(got, []string{"a", "b", "D"}) {
		t.Errorf("JSONKeys: %v", got)
	}
	got, err := UnknownKeys([]byte(`{"a": 1, "x": {"b": 2}, "b": [1], "y": null}`), []string{"a", "b"})
	if err != nil || !slices.Equal(got, []string{"x", "y"}) {
		t.Errorf("UnknownKeys: %v, %v", got, err)
	}
	if _, err := UnknownKeys([]byte(`[1]`), nil); err == nil {
		t.Error("UnknownKeys of an array: no error")
	}
}
