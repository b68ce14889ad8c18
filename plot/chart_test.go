package plot

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var red = color.RGBA{255, 0, 0, 255}

func TestRenderSize(t *testing.T) {
	line := []Series{{Name: "a", X: []float64{0, 1, 2}, Y: []float64{3, 1, 2}}}
	for _, tc := range []struct {
		name string
		r    interface {
			Render() (*image.RGBA, error)
		}
		w, h int
	}{
		{"default", &Chart{Series: line}, 900, 560},
		{"small", &Chart{Series: line, Width: 320, Height: 200, Title: "t", XLabel: "x", YLabel: "y"}, 320, 200},
		{"minimum", &Chart{Series: line, Width: minWidth, Height: minHeight, Title: "a long title that does not fit", XLabel: "x", YLabel: "y"}, minWidth, minHeight},
		{"large", &Chart{Series: line, Width: 1800, Height: 1120}, 1800, 1120},
		{"log both", &Chart{Series: line, LogX: true, LogY: true}, 900, 560},
		{"loss sample", sampleLossChart(), 900, 560},
		{"scaling sample", sampleScalingChart(), 900, 560},
		{"bars", sampleBarChart(), 900, 560},
		{"bars sized", &BarChart{Bars: []Bar{{Label: "a", Value: -1}}, Width: 400, Height: 300}, 400, 300},
	} {
		img, err := tc.r.Render()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if b := img.Bounds(); b.Dx() != tc.w || b.Dy() != tc.h {
			t.Errorf("%s: size %dx%d, want %dx%d", tc.name, b.Dx(), b.Dy(), tc.w, tc.h)
		}
	}
}

func TestRenderErrors(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name    string
		r       interface{ Render() (*image.RGBA, error) }
		want    string
		noData  bool
		wantErr bool
	}{
		{"no series", &Chart{}, "no series", true, true},
		{"empty series", &Chart{Series: []Series{{Name: "a"}}}, "no series has a drawable point", true, true},
		{"all NaN", &Chart{Series: []Series{{Name: "a", Y: []float64{nan, math.Inf(1), nan}}}}, "NaN", true, true},
		{"log non-positive", &Chart{LogY: true, Series: []Series{{Y: []float64{0, -1}}}}, "log axis", true, true},
		{"length mismatch", &Chart{Series: []Series{{X: []float64{1, 2}, Y: []float64{1}}}}, "2 x values and 1 y values", false, true},
		{"bad style", &Chart{Series: []Series{{Y: []float64{1}, Style: 7}}}, "unknown style", false, true},
		{"reversed range", &Chart{YRange: Range{1, 0}, Series: []Series{{Y: []float64{1}}}}, "Min < Max", false, true},
		{"log range", &Chart{LogX: true, XRange: Range{0, 10}, Series: []Series{{Y: []float64{1}}}}, "positive", false, true},
		{"too small", &Chart{Width: 10, Height: 10, Series: []Series{{Y: []float64{1}}}}, "size", false, true},
		{"no bars", &BarChart{}, "no bars", true, true},
		{"NaN bars", &BarChart{Bars: []Bar{{Label: "a", Value: nan}}}, "finite", true, true},
		{"one good series is enough", &Chart{Series: []Series{{Y: []float64{nan}}, {Y: []float64{1, 2}}}}, "", false, false},
		{"single point", &Chart{Series: []Series{{X: []float64{5}, Y: []float64{3}}}}, "", false, false},
		{"flat", &Chart{LogY: true, Series: []Series{{Y: []float64{2, 2, 2}}}}, "", false, false},
		{"zero bars", &BarChart{Bars: []Bar{{Label: "a"}, {Label: "b", Value: nan}}}, "", false, false},
	} {
		img, err := tc.r.Render()
		if !tc.wantErr {
			if err != nil || img == nil {
				t.Errorf("%s: unexpected error %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if img != nil {
			t.Errorf("%s: image returned with error", tc.name)
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "plot: ") {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
		if got := errors.Is(err, errNoData); got != tc.noData {
			t.Errorf("%s: errors.Is(err, errNoData) = %v", tc.name, got)
		}
	}
}

func isRed(c color.RGBA) bool { return c.R > 150 && c.G < 120 && c.B < 120 }

// A horizontal series at y = 0.5 on a fixed [0, 1] axis must paint the rows
// around the middle of the plot, across its whole width, and nothing else.
func TestHorizontalLinePixels(t *testing.T) {
	c := &Chart{
		XRange: Range{0, 1}, YRange: Range{0, 1},
		Series: []Series{{X: []float64{0, 0.25, 0.5, 0.75, 1}, Y: []float64{0.5, 0.5, 0.5, 0.5, 0.5}, Color: red}},
	}
	img, fr, err := c.render()
	if err != nil {
		t.Fatal(err)
	}
	p := fr.plot
	py := fr.y.pix(0.5)
	if mid := float64(p.Min.Y+p.Max.Y) / 2; math.Abs(py-mid) > 1 {
		t.Fatalf("y = 0.5 maps to row %g, plot middle is %g", py, mid)
	}
	half := fr.c.px(2) / 2 // half the line width
	full := 0
	for y := p.Min.Y + 1; y < p.Max.Y-1; y++ {
		d := math.Abs(float64(y) + 0.5 - py) // distance of the row centre from the line
		exact, reddish := 0, 0
		for x := p.Min.X + 1; x < p.Max.X-1; x++ {
			px := img.RGBAAt(x, y)
			if px == red {
				exact++
			}
			if isRed(px) {
				reddish++
			}
		}
		switch {
		case d+0.5 <= half: // row entirely under the stroke
			if exact != p.Dx()-2 {
				t.Errorf("row %d (%.1f from the line): %d of %d pixels are the series colour", y, d, exact, p.Dx()-2)
			}
			full++
		case d-0.5 >= half: // row entirely off the stroke
			if reddish != 0 {
				t.Errorf("row %d (%.1f from the line): %d pixels in the series colour", y, d, reddish)
			}
		}
	}
	if full == 0 {
		t.Errorf("no row fully in the series colour around row %g", py)
	}
}

// A NaN leaves a gap in the line.
func TestNaNGap(t *testing.T) {
	c := &Chart{
		XRange: Range{0, 1}, YRange: Range{0, 1},
		Series: []Series{{X: []float64{0, 0.25, 0.5, 0.75, 1}, Y: []float64{0.5, 0.5, math.NaN(), 0.5, 0.5}, Color: red}},
	}
	img, fr, err := c.render()
	if err != nil {
		t.Fatal(err)
	}
	row := int(fr.y.pix(0.5))
	count := func(x0, x1 float64) int {
		n := 0
		for x := int(fr.x.pix(x0)); x <= int(fr.x.pix(x1)); x++ {
			for y := row - 3; y <= row+3; y++ {
				if isRed(img.RGBAAt(x, y)) {
					n++
				}
			}
		}
		return n
	}
	if n := count(0.3, 0.7); n != 0 {
		t.Errorf("%d series pixels in the gap", n)
	}
	if count(0.05, 0.2) == 0 || count(0.8, 0.95) == 0 {
		t.Error("line missing on either side of the gap")
	}
}

func TestLegendPresence(t *testing.T) {
	// A named series gets a legend box whose swatch is in the series colour
	// outside the data; an unnamed one does not.
	for _, name := range []string{"", "train"} {
		c := &Chart{YRange: Range{0, 1}, XRange: Range{0, 1},
			Series: []Series{{Name: name, X: []float64{0, 1}, Y: []float64{0.1, 0.1}, Color: red}}}
		img, fr, err := c.render()
		if err != nil {
			t.Fatal(err)
		}
		top := 0
		for y := fr.plot.Min.Y; y < int(fr.y.pix(0.5)); y++ {
			for x := fr.plot.Min.X; x < fr.plot.Max.X; x++ {
				if isRed(img.RGBAAt(x, y)) {
					top++
				}
			}
		}
		if (top > 0) != (name != "") {
			t.Errorf("name %q: %d series-colour pixels in the upper half", name, top)
		}
	}
}

func TestDecimate(t *testing.T) {
	var q []pt
	for i := range 10000 {
		q = append(q, pt{float64(i) / 100, math.Sin(float64(i))})
	}
	d := decimate(q)
	if len(d) > 4*100 || len(d) < 100 {
		t.Fatalf("decimated to %d points", len(d))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, p := range d {
		lo, hi = math.Min(lo, p.y), math.Max(hi, p.y)
	}
	if lo > -0.999 || hi < 0.999 {
		t.Errorf("envelope lost: [%g, %g]", lo, hi)
	}
	// A large series renders through decimation without trouble.
	y := make([]float64, 200000)
	for i := range y {
		y[i] = 3 + math.Exp(-float64(i)/20000) + 0.1*math.Sin(float64(i))
	}
	if _, err := (&Chart{Series: []Series{{Y: y}}}).Render(); err != nil {
		t.Fatal(err)
	}
}

func TestWritePNG(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		w    interface{ WritePNG(string) error }
		size image.Point
	}{
		{"loss.png", sampleLossChart(), image.Pt(900, 560)},
		{"scaling.png", sampleScalingChart(), image.Pt(900, 560)},
		{"bars.png", &BarChart{Bars: []Bar{{Label: "a", Value: 1, Err: 0.1}}, Width: 500, Height: 300}, image.Pt(500, 300)},
	} {
		path := filepath.Join(dir, tc.name)
		// Twice: the second write replaces the first.
		for range 2 {
			if err := tc.w.WritePNG(path); err != nil {
				t.Fatal(err)
			}
		}
		f, err := os.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := img.Bounds().Size(); got != tc.size {
			t.Errorf("%s: decoded size %v, want %v", tc.name, got, tc.size)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, %v", tc.name, st.Mode(), err)
		}
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 3 {
		t.Errorf("directory holds %d entries, want 3", len(entries))
	}
}

func TestWritePNGFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	good := &Chart{Series: []Series{{Y: []float64{1, 2}}}}
	if err := good.WritePNG(filepath.Join(dir, "missing", "x.png")); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if err := (&Chart{}).WritePNG(filepath.Join(dir, "empty.png")); err == nil {
		t.Error("write of an empty chart succeeded")
	}
	if err := (&BarChart{}).WritePNG(filepath.Join(dir, "empty-bars.png")); err == nil {
		t.Error("write of an empty bar chart succeeded")
	}
	// The target is a directory: the rename fails after the temp file was
	// written, and the temp file must go.
	if err := os.Mkdir(filepath.Join(dir, "taken.png"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := good.WritePNG(filepath.Join(dir, "taken.png")); err == nil {
		t.Error("write over a directory succeeded")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if e.Name() != "taken.png" {
			t.Errorf("left behind: %s", e.Name())
		}
	}
}

func TestEncodePNG(t *testing.T) {
	var buf bytes.Buffer
	if err := sampleBarChart().EncodePNG(&buf); err != nil {
		t.Fatal(err)
	}
	cfg, err := png.DecodeConfig(&buf)
	if err != nil || cfg.Width != 900 || cfg.Height != 560 {
		t.Fatalf("DecodeConfig = %+v, %v", cfg, err)
	}
	if err := (&Chart{}).EncodePNG(&buf); err == nil {
		t.Error("EncodePNG of an empty chart succeeded")
	}
}

// Rendering is deterministic, and safe from several goroutines at once.
func TestRenderDeterministicConcurrent(t *testing.T) {
	want, err := sampleScalingChart().Render()
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan *image.RGBA)
	for range 4 {
		go func() {
			img, _ := sampleScalingChart().Render()
			done <- img
		}()
	}
	for range 4 {
		if img := <-done; img == nil || !bytes.Equal(img.Pix, want.Pix) {
			t.Error("renders differ")
		}
	}
}

func TestGrid(t *testing.T) {
	g := &Grid{Title: "map", RowLabels: []string{"layer 0", "layer 1"}, ColLabels: []string{"attention", "FFN"},
		Cells: [][]string{{"", "2"}, {"1", ""}}, Filled: [][]bool{{false, true}, {true, false}}, Note: "numbers: removal order"}
	img, err := g.Render()
	if err != nil {
		t.Fatal(err)
	}
	if img.Bounds().Dx() < 200 || img.Bounds().Dy() < 100 {
		t.Fatalf("grid image %v", img.Bounds())
	}
	if _, err := (&Grid{}).Render(); err == nil {
		t.Fatal("empty grid rendered")
	}
	if _, err := (&Grid{RowLabels: []string{"a"}, ColLabels: []string{"b"}, Cells: [][]string{{"1", "2"}}}).Render(); err == nil {
		t.Fatal("a row with too many cells rendered")
	}
}
