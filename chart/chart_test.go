package chart

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

	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/vgimg"
)

var red = color.RGBA{255, 0, 0, 255}

func isRed(c color.Color) bool {
	r, g, b, _ := c.RGBA()
	return r>>8 > 150 && g>>8 < 120 && b>>8 < 120
}

// rendered is a chart drawn as an image, with the mapping from data to
// pixel coordinates of its plot area.
type rendered struct {
	img  image.Image
	pix  func(x, y float64) (int, int)
	area image.Rectangle // the data area in pixels
}

func render(t *testing.T, f Drawing) rendered {
	t.Helper()
	p, w, h, err := f.figure()
	if err != nil {
		t.Fatal(err)
	}
	w, h = size(w, h)
	c := vgimg.NewWith(vgimg.UseWH(w, h), vgimg.UseDPI(DPI))
	da := p.DataCanvas(drawPage(p, c))
	trX, trY := p.Transforms(&da)
	H := c.Image().Bounds().Dy()
	toPix := func(x, y vg.Length) (int, int) {
		return int(math.Floor(float64(x * DPI / vg.Inch))), H - 1 - int(math.Floor(float64(y*DPI/vg.Inch)))
	}
	x0, y1 := toPix(da.Min.X, da.Min.Y)
	x1, y0 := toPix(da.Max.X, da.Max.Y)
	return rendered{c.Image(), func(x, y float64) (int, int) { return toPix(trX(x), trY(y)) }, image.Rect(x0, y0, x1, y1)}
}

// count is the number of pixels in r that satisfy ok.
func (r rendered) count(area image.Rectangle, ok func(color.Color) bool) int {
	n := 0
	for y := area.Min.Y; y < area.Max.Y; y++ {
		for x := area.Min.X; x < area.Max.X; x++ {
			if ok(r.img.At(x, y)) {
				n++
			}
		}
	}
	return n
}

func TestErrors(t *testing.T) {
	nan := math.NaN()
	for _, tc := range []struct {
		name    string
		f       Drawing
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
		{"too small", &Chart{Width: 10, Height: 10, Series: []Series{{Y: []float64{1}}}}, "size", false, true},
		{"no bars", &BarChart{}, "no bars", true, true},
		{"NaN bars", &BarChart{Bars: []Bar{{Label: "a", Value: nan}}}, "finite", true, true},
		{"empty grid", &Grid{}, "0 rows", true, true},
		{"wide grid row", &Grid{RowLabels: []string{"a"}, ColLabels: []string{"b"}, Cells: [][]string{{"1", "2"}}}, "more than 1 cells", false, true},
		{"one good series is enough", &Chart{Series: []Series{{Y: []float64{nan}}, {Y: []float64{1, 2}}}}, "", false, false},
		{"single point", &Chart{Series: []Series{{X: []float64{5}, Y: []float64{3}}}}, "", false, false},
		{"single point log", &Chart{LogX: true, LogY: true, Series: []Series{{X: []float64{0.5}, Y: []float64{0.5}, Style: Points}}}, "", false, false},
		{"flat", &Chart{LogY: true, Series: []Series{{Y: []float64{2, 2, 2}}}}, "", false, false},
		{"zero bars", &BarChart{Bars: []Bar{{Label: "a"}, {Label: "b", Value: nan}}}, "", false, false},
		{"negative bars", &BarChart{Bars: []Bar{{Label: "a", Value: -1, Err: 0.5}}}, "", false, false},
	} {
		var buf bytes.Buffer
		err := encode(&buf, tc.f, pngFormat)
		if !tc.wantErr {
			if err != nil || buf.Len() == 0 {
				t.Errorf("%s: unexpected error %v", tc.name, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) || !strings.HasPrefix(err.Error(), "chart: ") {
			t.Errorf("%s: error %q does not mention %q", tc.name, err, tc.want)
		}
		if got := errors.Is(err, errNoData); got != tc.noData {
			t.Errorf("%s: errors.Is(err, errNoData) = %v", tc.name, got)
		}
	}
}

func TestPNGSize(t *testing.T) {
	line := []Series{{Name: "a", X: []float64{0, 1, 2}, Y: []float64{3, 1, 2}}}
	for _, tc := range []struct {
		name string
		f    Drawing
		w, h int
	}{
		{"default", &Chart{Series: line}, 960, 600},
		{"sized", &Chart{Series: line, Width: 4 * vg.Inch, Height: 3 * vg.Inch, Title: "t", XLabel: "x", YLabel: "y"}, 480, 360},
		{"log both", &Chart{Series: line, LogX: true, LogY: true}, 960, 600},
		{"bars", sampleBarChart(), 960, 600},
		{"bars sized", &BarChart{Bars: []Bar{{Label: "a", Value: -1}}, Width: 5 * vg.Inch, Height: 3 * vg.Inch}, 600, 360},
	} {
		var buf bytes.Buffer
		if err := encode(&buf, tc.f, pngFormat); err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		cfg, err := png.DecodeConfig(&buf)
		if err != nil || cfg.Width != tc.w || cfg.Height != tc.h {
			t.Errorf("%s: %dx%d (%v), want %dx%d", tc.name, cfg.Width, cfg.Height, err, tc.w, tc.h)
		}
	}
}

// A horizontal series is drawn across the whole plot at its height, and
// nowhere else.
func TestHorizontalLinePixels(t *testing.T) {
	c := &Chart{Series: []Series{
		{X: []float64{0, 0.25, 0.5, 0.75, 1}, Y: []float64{0.5, 0.5, 0.5, 0.5, 0.5}, Color: red},
		{X: []float64{0, 1}, Y: []float64{0, 1}, Style: Points, Color: color.Black}, // spans the axes
	}}
	r := render(t, c)
	x0, y := r.pix(0, 0.5)
	x1, _ := r.pix(1, 0.5)
	if mid := (r.area.Min.Y + r.area.Max.Y) / 2; y < mid-2 || y > mid+2 {
		t.Fatalf("y = 0.5 is drawn at row %d, the middle of the plot %v is %d", y, r.area, mid)
	}
	// The stroke (1.3 pt, about 2 px) covers the row of y from x0 to x1.
	if n := r.count(image.Rect(x0+1, y, x1-1, y+1), isRed); n != x1-x0-2 {
		t.Errorf("row %d: %d of %d pixels in the series colour", y, n, x1-x0-2)
	}
	for _, d := range []int{-6, 6} {
		if n := r.count(image.Rect(r.area.Min.X, y+d, r.area.Max.X, y+d+1), isRed); n != 0 {
			t.Errorf("row %d (%+d from the line): %d pixels in the series colour", y+d, d, n)
		}
	}
}

// A NaN leaves a gap in the line.
func TestNaNGap(t *testing.T) {
	c := &Chart{Series: []Series{
		{X: []float64{0, 0.25, 0.5, 0.75, 1}, Y: []float64{0.5, 0.5, math.NaN(), 0.5, 0.5}, Color: red},
		{X: []float64{0, 1}, Y: []float64{0, 1}, Style: Points, Color: color.Black},
	}}
	r := render(t, c)
	band := func(a, b float64) int {
		x0, y := r.pix(a, 0.5)
		x1, _ := r.pix(b, 0.5)
		return r.count(image.Rect(x0, y-4, x1, y+5), isRed)
	}
	if n := band(0.3, 0.7); n != 0 {
		t.Errorf("%d series pixels in the gap", n)
	}
	if band(0.05, 0.2) == 0 || band(0.8, 0.95) == 0 {
		t.Error("line missing on either side of the gap")
	}
}

// A named series gets a legend, whose swatch is in the series colour away
// from the data; an unnamed one does not.
func TestLegendPresence(t *testing.T) {
	for _, name := range []string{"", "train"} {
		c := &Chart{Series: []Series{{Name: name, X: []float64{0, 0.5, 1}, Y: []float64{0, 0, 1}, Color: red}}}
		r := render(t, c)
		// The line runs along the bottom and up the right: the legend goes
		// top left, and nothing else red is in the upper left quarter.
		a := r.area
		n := r.count(image.Rect(a.Min.X, a.Min.Y, (a.Min.X+a.Max.X)/2, (a.Min.Y+a.Max.Y)/2), isRed)
		if (n > 0) != (name != "") {
			t.Errorf("name %q: %d series-colour pixels in the upper left quarter", name, n)
		}
	}
}

// Error bars are drawn over the bar top; a NaN bar leaves its
// slot empty; value labels make room above the highest bar.
func TestBarChartPixels(t *testing.T) {
	blue := func(c color.Color) bool {
		r, g, b, _ := c.RGBA()
		return r>>8 < 40 && g>>8 > 90 && g>>8 < 140 && b>>8 > 150
	}
	dark := func(c color.Color) bool {
		r, g, b, _ := c.RGBA()
		return r>>8 < 90 && g>>8 < 90 && b>>8 < 90
	}
	b := &BarChart{Bars: []Bar{{Label: "a", Value: 2, Err: 0.5}, {Label: "b", Value: math.NaN()}, {Label: "c", Value: 1}}}
	r := render(t, b)
	x, top := r.pix(0, 2)
	_, lo := r.pix(0, 1.5)
	if n := r.count(image.Rect(x-1, top+3, x+2, lo-2), dark); n == 0 {
		t.Error("no error bar over the first bar")
	}
	if _, y := r.pix(0, 2.5); y <= r.area.Min.Y+8 {
		t.Errorf("error bar top at row %d, plot top %d: no room for the value", y, r.area.Min.Y)
	}
	x1, _ := r.pix(1, 0)
	if n := r.count(image.Rect(x1-20, r.area.Min.Y, x1+20, r.area.Max.Y), blue); n != 0 {
		t.Errorf("%d bar pixels in the NaN bar's slot", n)
	}
	x2, y2 := r.pix(2, 0.5)
	if !blue(r.img.At(x2, y2)) {
		t.Errorf("third bar not drawn at (%d, %d): %v", x2, y2, r.img.At(x2, y2))
	}
	if _, top := r.pix(2, 1); r.count(image.Rect(x2-2, r.area.Min.Y, x2+3, top-25), dark) != 0 {
		t.Error("dark pixels high over the third bar, which has no error bar")
	}
}

// Filled cells are drawn in the fill colour, one cell's worth each.
func TestGridCells(t *testing.T) {
	fill := func(c color.Color) bool {
		r, g, b, _ := c.RGBA()
		return r>>8 == 0xD5 && g>>8 == 0x5E && b>>8 == 0
	}
	counts := make([]int, 3)
	for n := range counts {
		g := &Grid{Title: "map", RowLabels: []string{"layer 0", "layer 1"}, ColLabels: []string{"attention", "FFN"},
			Cells: [][]string{{"", "2"}, {"1", ""}}, Filled: [][]bool{{false, n >= 2}, {n >= 1, false}}, Note: "numbers: removal order"}
		r := render(t, g)
		counts[n] = r.count(r.img.Bounds(), fill)
	}
	cell := float64(cellW*DPI/vg.Inch) * float64(cellH*DPI/vg.Inch)
	if counts[0] != 0 || float64(counts[1]) < 0.7*cell || float64(counts[1]) > cell || math.Abs(float64(counts[2]-2*counts[1])) > 0.05*cell {
		t.Errorf("fill-coloured pixels for 0, 1, 2 filled cells: %v (a cell is %.0f pixels)", counts, cell)
	}
}

// Rendering is deterministic, also from several goroutines at once.
func TestDeterministic(t *testing.T) {
	for _, tc := range []struct {
		name string
		f    func() Drawing
	}{
		{"loss", func() Drawing { return sampleLossChart() }},
		{"scaling", func() Drawing { return sampleScalingChart() }},
		{"bars", func() Drawing { return sampleBarChart() }},
		{"grid", func() Drawing { return sampleGrid() }},
	} {
		for _, fm := range []format{pngFormat, svgFormat} {
			var want bytes.Buffer
			if err := encode(&want, tc.f(), fm); err != nil {
				t.Fatal(tc.name, err)
			}
			done := make(chan []byte)
			for range 3 {
				go func() {
					var b bytes.Buffer
					_ = encode(&b, tc.f(), fm)
					done <- b.Bytes()
				}()
			}
			for range 3 {
				if got := <-done; !bytes.Equal(got, want.Bytes()) {
					t.Errorf("%s %s: renders differ", tc.name, fm)
				}
			}
		}
	}
}

func TestDecimate(t *testing.T) {
	var r plotter.XYs
	for i := range 100000 {
		r = append(r, plotter.XY{X: float64(i), Y: math.Sin(float64(i))})
	}
	d := decimate(r, false)
	if len(d) > 4000 || len(d) < 1000 {
		t.Fatalf("decimated to %d points", len(d))
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for i, p := range d {
		lo, hi = math.Min(lo, p.Y), math.Max(hi, p.Y)
		if i > 0 && p.X <= d[i-1].X {
			t.Fatalf("point %d out of order", i)
		}
	}
	if lo > -0.999 || hi < 0.999 || d[0] != r[0] || d[len(d)-1] != r[len(r)-1] {
		t.Errorf("envelope or ends lost: [%g, %g], %v … %v", lo, hi, d[0], d[len(d)-1])
	}
	r[500].X = -1 // not monotone: kept as is
	if len(decimate(r, false)) != len(r) {
		t.Error("a line whose x goes back was thinned")
	}
	// A long series renders.
	y := make([]float64, 50000)
	for i := range y {
		y[i] = 3 + math.Exp(-float64(i)/5000) + 0.1*math.Sin(float64(i)/10)
	}
	var buf bytes.Buffer
	if err := EncodePNG(&buf, &Chart{Series: []Series{{Y: y}}}); err != nil {
		t.Fatal(err)
	}
}

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name string
		w    interface {
			WritePNG(string) error
			WriteSVG(string) error
		}
		size image.Point
	}{
		{"loss", sampleLossChart(), image.Pt(960, 600)},
		{"bars", &BarChart{Bars: []Bar{{Label: "a", Value: 1, Err: 0.1}}, Width: 5 * vg.Inch, Height: 3 * vg.Inch}, image.Pt(600, 360)},
		{"grid", sampleGrid(), image.Point{}},
	} {
		path := filepath.Join(dir, tc.name+".png")
		for range 2 { // the second write replaces the first
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
		if got := img.Bounds().Size(); tc.size != (image.Point{}) && got != tc.size || got.X < 300 || got.Y < 300 {
			t.Errorf("%s: decoded size %v, want %v", tc.name, got, tc.size)
		}
		if st, err := os.Stat(path); err != nil || st.Mode().Perm() != 0o644 {
			t.Errorf("%s: mode %v, %v", tc.name, st.Mode(), err)
		}
		svg := filepath.Join(dir, tc.name+".svg")
		if err := tc.w.WriteSVG(svg); err != nil {
			t.Fatal(err)
		}
		if b, err := os.ReadFile(svg); err != nil || !bytes.Contains(b, []byte("<svg")) || !bytes.HasSuffix(bytes.TrimSpace(b), []byte("</svg>")) {
			t.Errorf("%s: not an SVG document (%v)", svg, err)
		} else if bytes.Contains(b, []byte("font-family:Liberation Sans;")) || !bytes.Contains(b, []byte("sans-serif")) {
			t.Errorf("%s: a font without fallback", svg)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 6 {
		t.Errorf("directory holds %d entries, want 6", len(entries))
	}
}

func TestWriteFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	good := &Chart{Series: []Series{{Y: []float64{1, 2}}}}
	if err := good.WritePNG(filepath.Join(dir, "missing", "x.png")); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if err := (&Chart{}).WritePNG(filepath.Join(dir, "empty.png")); err == nil {
		t.Error("write of an empty chart succeeded")
	}
	if err := (&BarChart{}).WriteSVG(filepath.Join(dir, "empty-bars.svg")); err == nil {
		t.Error("write of an empty bar chart succeeded")
	}
	// The target is a directory: the rename fails after the temporary file
	// was written, and the temporary file must go.
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

// Long bar labels wrap at spaces onto a few lines when they fit so (whole,
// not shortened), and are turned otherwise; no label reaches the image's edge.
func TestBarLabels(t *testing.T) {
	ink := func(c color.Color) bool {
		r, g, b, _ := c.RGBA()
		return r>>8 < 200 && g>>8 < 200 && b>>8 < 200
	}
	for _, tc := range []struct {
		name    string
		labels  []string
		rotated bool
	}{
		{"wrapped", []string{"dense, width 128", "PHM n = 2", "PHM n = 4", "dense, width 64 (FFN 216)"}, false},
		{"turned", []string{"a-very-long-unbreakable-label-for-a-bar", "b", "c", "d", "e", "f", "g", "h", "i", "j", "k", "l"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := &BarChart{Title: "t", YLabel: "y"}
			for i, l := range tc.labels {
				b.Bars = append(b.Bars, Bar{Label: l, Value: float64(i + 1)})
			}
			p, _, _, err := b.figure()
			if err != nil {
				t.Fatal(err)
			}
			if got := p.X.Tick.Label.Rotation != 0; got != tc.rotated {
				t.Errorf("rotated %v, want %v", got, tc.rotated)
			}
			if !tc.rotated {
				for i, tk := range p.X.Tick.Marker.Ticks(p.X.Min, p.X.Max) {
					if got := strings.ReplaceAll(tk.Label, "\n", " "); got != tc.labels[i] {
						t.Errorf("label %d drawn as %q, want %q whole", i, tk.Label, tc.labels[i])
					}
				}
			}
			r := render(t, b)
			bd := r.img.Bounds()
			if n := r.count(image.Rect(bd.Min.X, bd.Max.Y-4, bd.Max.X, bd.Max.Y), ink); n != 0 {
				t.Errorf("%d ink pixels in the bottom 4 rows: a label is cut off", n)
			}
		})
	}
}

func TestWrapWords(t *testing.T) {
	sty := newPlot("", "", "", false, false).X.Tick.Label
	w := sty.Width("dense, width")
	for _, tc := range []struct {
		in    string
		lines int
		want  string
		ok    bool
	}{
		{"dense, width 64 (FFN 216)", 3, "dense, width\n64 (FFN\n216)", true},
		{"dense, width 64 (FFN 216)", 2, "", false},
		{"short", 1, "short", true},
		{"unbreakable-and-much-too-wide", 3, "", false},
	} {
		got, ok := wrapWords(sty, tc.in, w, tc.lines)
		if got != tc.want || ok != tc.ok {
			t.Errorf("wrapWords(%q, %d lines) = %q, %v; want %q, %v", tc.in, tc.lines, got, ok, tc.want, tc.ok)
		}
	}
}

// A shortened label ends in an ellipsis and fits (down to its first
// letter, when not even "x…" fits); one that fits is kept.
func TestTruncate(t *testing.T) {
	sty := newPlot("", "", "", false, false).X.Tick.Label
	s := "dense, width 64 (FFN 216)"
	for _, limit := range []vg.Length{sty.Width(s), sty.Width(s) - 0.1, sty.Width("dense, width 6"), sty.Width("de")} {
		got := truncate(sty, s, limit)
		if sty.Width(got) > limit && got != "d" {
			t.Errorf("limit %v: %q is wider", limit, got)
		}
		if got != s && got != "d" && !strings.HasSuffix(got, "…") {
			t.Errorf("limit %v: %q shortened without an ellipsis", limit, got)
		}
	}
}
