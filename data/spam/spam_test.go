package spam

import (
	"slices"
	"strings"
	"testing"
	"unicode/utf8"
)

// The embedded splits have the corpus' message counts per class (README.md).
func TestOpenCounts(t *testing.T) {
	for _, c := range []struct {
		split  string
		counts []int // ham, spam
	}{
		{Train, []int{2750, 500}},
		{Test, []int{1400, 1396}},
	} {
		s, err := Open(c.split)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(s.Classes, []string{"ham", "spam"}) || !slices.Equal(s.Counts(), c.counts) {
			t.Errorf("%s: classes %v counts %v, want [ham spam] %v", c.split, s.Classes, s.Counts(), c.counts)
		}
		if s.Source != "data/spam/"+c.split+".csv.gz" {
			t.Errorf("%s: Source %q", c.split, s.Source)
		}
		for i, x := range s.Items {
			if n := utf8.RuneCountInString(x); x == "" || n > 1000 || !utf8.ValidString(x) || strings.ContainsAny(x, "\n\r\t") {
				t.Fatalf("%s: item %d (%d characters) is not one line of 1 to 1,000 valid UTF-8 characters: %.80q", c.split, i, n, x)
			}
		}
	}
}

func TestOpenUnknownSplit(t *testing.T) {
	if _, err := Open("validation"); err == nil || !strings.Contains(err.Error(), `"validation"`) {
		t.Errorf("Open(validation): %v", err)
	}
}
