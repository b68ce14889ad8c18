package fashion

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestLoad reads the committed cut of the test split (its labels as
// gen_testdata.py printed them) and refuses what is not Fashion-MNIST.
func TestLoad(t *testing.T) {
	s, err := Load("testdata", "t10k")
	if err != nil {
		t.Fatal(err)
	}
	if s.N != 8 || s.Rows != 28 || s.Cols != 28 || len(s.Pixels) != 8*28*28 {
		t.Fatalf("%d images of %d×%d", s.N, s.Rows, s.Cols)
	}
	want := []int{9, 2, 1, 1, 6, 1, 4, 6}
	for i, l := range want {
		if s.Labels[i] != l {
			t.Fatalf("labels %v, want %v", s.Labels, want)
		}
	}
	if _, err := Load("testdata", "train"); err == nil {
		t.Error("a missing split loaded")
	}
	if _, err := Load("testdata", "val"); err == nil || !strings.Contains(err.Error(), "split") {
		t.Errorf("split val: %v", err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "t10k-images-idx3-ubyte.gz"), []byte("not gzip"), 0o644)
	if _, err := Load(dir, "t10k"); err == nil {
		t.Error("a corrupt file loaded")
	}
}

// TestPixelTokens: block means quantised, raster order, a start token per
// image; checked by hand on one image.
func TestPixelTokens(t *testing.T) {
	s, err := Load("testdata", "t10k")
	if err != nil {
		t.Fatal(err)
	}
	toks, err := s.PixelTokens(1, 3, 14, 16)
	if err != nil {
		t.Fatal(err)
	}
	if len(toks) != 2*197 || toks[0] != 16 || toks[197] != 16 {
		t.Fatalf("%d tokens, starts %d %d", len(toks), toks[0], toks[197])
	}
	img := s.Image(1)
	r, c := 7, 5 // a block in the middle of image 1
	sum := int(img[14*28+10]) + int(img[14*28+11]) + int(img[15*28+10]) + int(img[15*28+11])
	if got, want := toks[1+r*14+c], sum*16/(4*256); got != want {
		t.Errorf("token of block (%d, %d): %d, want %d", r, c, got, want)
	}
	for _, v := range toks {
		if v < 0 || v > 16 {
			t.Fatalf("token %d out of range", v)
		}
	}
	if _, err := s.PixelTokens(0, 2, 5, 16); err == nil {
		t.Error("side 5 of 28 accepted")
	}
}
