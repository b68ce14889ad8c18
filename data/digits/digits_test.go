package digits

import "testing"

func TestLoad(t *testing.T) {
	x, y, err := Load()
	if err != nil {
		t.Fatal(err)
	}
	if len(y) != 1797 || x.Dim(0) != 1797 || x.Dim(2) != 8 {
		t.Fatalf("%d labels, images %v", len(y), x.Shape())
	}
	count := make([]int, Classes)
	for _, v := range y {
		count[v]++
	}
	for c, n := range count {
		if n < 170 || n > 190 { // 174 … 183 per digit
			t.Errorf("digit %d: %d images", c, n)
		}
	}
	lo, hi := float32(1), float32(-1)
	for _, v := range x.F32() {
		lo, hi = min(lo, v), max(hi, v)
	}
	if lo != -1 || hi != 1 {
		t.Errorf("pixels in [%v, %v], want [-1, 1]", lo, hi)
	}
	// The first image is a 0 (scikit-learn's digits.images[0]).
	if y[0] != 0 || x.F32()[2] != 5.0/8-1 {
		t.Errorf("first image: label %d, pixel (0, 2) %v", y[0], x.F32()[2])
	}
}
