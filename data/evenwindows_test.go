package data

import "testing"

func TestEvenWindows(t *testing.T) {
	ids := make([]int, 10)
	for i := range ids {
		ids[i] = i
	}
	w := EvenWindows(ids, 4, 3)
	if len(w) != 3 || w[0][0] != 0 || w[1][0] != 3 || w[2][0] != 6 || len(w[2]) != 4 {
		t.Fatalf("windows %v", w)
	}
	if w := EvenWindows(ids, 9, 5); len(w) != 2 || w[1][0] != 1 {
		t.Fatalf("fewer starts than windows: %v", w)
	}
	if w := EvenWindows(ids, 11, 2); w != nil {
		t.Fatalf("window longer than ids: %v", w)
	}
}

func TestStack(t *testing.T) {
	ids, T, err := Stack([][]int{{1, 2}, {3, 4}})
	if err != nil || T != 2 || len(ids) != 4 || ids[2] != 3 {
		t.Fatalf("Stack: %v %d %v", ids, T, err)
	}
	for _, w := range [][][]int{nil, {{}}, {{1, 2}, {3}}} {
		if _, _, err := Stack(w); err == nil {
			t.Errorf("Stack(%v) gave no error", w)
		}
	}
}
