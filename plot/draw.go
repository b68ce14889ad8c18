package plot

import (
	"fmt"
	"image"
	"image/color"
	"image/draw"
	"math"
	"sync"

	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/font/opentype"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// Colours of the chart furniture.
var (
	colBackground = color.RGBA{255, 255, 255, 255}
	colTitle      = color.RGBA{0x22, 0x22, 0x22, 255}
	colLabel      = color.RGBA{0x33, 0x33, 0x33, 255}
	colTickLabel  = color.RGBA{0x55, 0x55, 0x55, 255}
	colAxis       = color.RGBA{0x80, 0x80, 0x80, 255}
	colGrid       = color.RGBA{0xe4, 0xe4, 0xe4, 255}
	colGridMinor  = color.RGBA{0xf2, 0xf2, 0xf2, 255}
	colRef        = color.RGBA{0x5a, 0x5a, 0x5a, 255}
	colErrBar     = color.RGBA{0x2a, 0x2a, 0x2a, 255}
	colLegendBox  = color.NRGBA{255, 255, 255, 235}
	colLegendEdge = color.RGBA{0xcc, 0xcc, 0xcc, 255}
)

// okabeIto is the Okabe–Ito colour-blind-safe palette, reordered so that the
// first colours are the most distinct on white (yellow last).
var okabeIto = [...]color.RGBA{
	{0x00, 0x72, 0xB2, 255}, // blue
	{0xD5, 0x5E, 0x00, 255}, // vermillion
	{0x00, 0x9E, 0x73, 255}, // bluish green
	{0xCC, 0x79, 0xA7, 255}, // reddish purple
	{0xE6, 0x9F, 0x00, 255}, // orange
	{0x56, 0xB4, 0xE9, 255}, // sky blue
	{0x00, 0x00, 0x00, 255}, // black
	{0xF0, 0xE4, 0x42, 255}, // yellow
}

// PaletteColor returns the i-th colour of the default palette, the
// colour-blind-friendly Okabe–Ito palette (blue, vermillion, bluish green,
// reddish purple, orange, sky blue, black, yellow), cycling for i >= 8.
// Series and bars without an explicit Color use it.
func PaletteColor(i int) color.RGBA {
	if i < 0 {
		i = -i
	}
	return okabeIto[i%len(okabeIto)]
}

var (
	fontOnce      sync.Once
	fontRegular   *opentype.Font
	fontBold      *opentype.Font
	errFontParsed error
)

func loadFonts() error {
	fontOnce.Do(func() {
		fontRegular, errFontParsed = opentype.Parse(goregular.TTF)
		if errFontParsed == nil {
			fontBold, errFontParsed = opentype.Parse(gobold.TTF)
		}
	})
	return errFontParsed
}

// faces holds the font faces of one rendering. Faces are not safe for
// concurrent use, so every Render makes its own.
type faces struct {
	title, label, tick, legend, small font.Face
}

func newFaces(scale float64) (*faces, error) {
	if err := loadFonts(); err != nil {
		return nil, fmt.Errorf("plot: parse font: %w", err)
	}
	mk := func(f *opentype.Font, size float64) (font.Face, error) {
		return opentype.NewFace(f, &opentype.FaceOptions{Size: size * scale, DPI: 72, Hinting: font.HintingFull})
	}
	var fs faces
	var err error
	for _, x := range []struct {
		dst  *font.Face
		f    *opentype.Font
		size float64
	}{
		{&fs.title, fontBold, 18},
		{&fs.label, fontRegular, 14},
		{&fs.tick, fontRegular, 12.5},
		{&fs.legend, fontRegular, 13},
		{&fs.small, fontRegular, 11.5},
	} {
		if *x.dst, err = mk(x.f, x.size); err != nil {
			return nil, fmt.Errorf("plot: font face: %w", err)
		}
	}
	return &fs, nil
}

// canvas is an RGBA image plus the scale factor of the layout.
type canvas struct {
	img   *image.RGBA
	scale float64
	f     *faces
}

func newCanvas(w, h int) (*canvas, error) {
	scale := math.Sqrt(float64(w) * float64(h) / (defaultWidth * defaultHeight))
	scale = math.Max(0.85, math.Min(scale, 4))
	fs, err := newFaces(scale)
	if err != nil {
		return nil, err
	}
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.Draw(img, img.Bounds(), image.NewUniform(colBackground), image.Point{}, draw.Src)
	return &canvas{img: img, scale: scale, f: fs}, nil
}

// px converts a length in layout units (pixels at the default size) to pixels.
func (c *canvas) px(v float64) float64 { return v * c.scale }

// ipx is px rounded to a whole number of pixels, at least 1.
func (c *canvas) ipx(v float64) int { return max(1, int(math.Round(v*c.scale))) }

func (c *canvas) fillRect(r image.Rectangle, col color.Color) {
	draw.Draw(c.img, r, image.NewUniform(col), image.Point{}, draw.Over)
}

// textWidth returns the advance width of s in whole pixels.
func textWidth(f font.Face, s string) int { return font.MeasureString(f, s).Ceil() }

// textHeight returns the ascent plus descent of f in whole pixels.
func textHeight(f font.Face) int {
	m := f.Metrics()
	return (m.Ascent + m.Descent).Ceil()
}

// text draws s with its box (advance width x ascent+descent) anchored at
// (x, y): ax and ay are the fractions of the box left of and above the
// anchor, so (0, 0) is top-left, (0.5, 0.5) centred, (1, 1) bottom-right.
// It returns the box.
func (c *canvas) text(f font.Face, s string, x, y, ax, ay float64, col color.Color) image.Rectangle {
	w, h := float64(textWidth(f, s)), float64(textHeight(f))
	left := math.Round(x - ax*w)
	top := math.Round(y - ay*h)
	d := font.Drawer{
		Dst:  c.img,
		Src:  image.NewUniform(col),
		Face: f,
		Dot:  fixed.Point26_6{X: fixed.Int26_6(left * 64), Y: fixed.I(int(top)) + f.Metrics().Ascent},
	}
	d.DrawString(s)
	return image.Rect(int(left), int(top), int(left+w), int(top+h))
}

// textBox returns the box text would occupy with the same anchoring.
func textBox(f font.Face, s string, x, y, ax, ay float64) image.Rectangle {
	w, h := float64(textWidth(f, s)), float64(textHeight(f))
	left := math.Round(x - ax*w)
	top := math.Round(y - ay*h)
	return image.Rect(int(left), int(top), int(left+w), int(top+h))
}

// vtext draws s rotated 90° counter-clockwise (reading bottom to top) with
// the rotated box anchored at (x, y) as in text.
func (c *canvas) vtext(f font.Face, s string, x, y, ax, ay float64, col color.Color) {
	w, h := textWidth(f, s), textHeight(f)
	if w <= 0 || h <= 0 {
		return
	}
	tmp := image.NewRGBA(image.Rect(0, 0, w, h))
	d := font.Drawer{Dst: tmp, Src: image.NewUniform(col), Face: f, Dot: fixed.Point26_6{Y: f.Metrics().Ascent}}
	d.DrawString(s)
	rot := image.NewRGBA(image.Rect(0, 0, h, w))
	for ty := 0; ty < h; ty++ {
		for tx := 0; tx < w; tx++ {
			i := tmp.PixOffset(tx, ty)
			j := rot.PixOffset(ty, w-1-tx)
			copy(rot.Pix[j:j+4], tmp.Pix[i:i+4])
		}
	}
	left := int(math.Round(x - ax*float64(h)))
	top := int(math.Round(y - ay*float64(w)))
	draw.Draw(c.img, image.Rect(left, top, left+h, top+w), rot, image.Point{}, draw.Over)
}

// pt is a point in pixel coordinates (y down).
type pt struct{ x, y float64 }

// path collects filled polygons to be rasterised together, anti-aliased, in
// one colour. All polygons are stored with the same winding so that
// overlapping ones (segments and round joins of one polyline) merge instead
// of cancelling.
type path struct{ polys [][]pt }

func (p *path) poly(pts ...pt) {
	if len(pts) < 3 {
		return
	}
	var area float64
	for i := range pts {
		a, b := pts[i], pts[(i+1)%len(pts)]
		area += a.x*b.y - b.x*a.y
	}
	if area == 0 {
		return
	}
	q := make([]pt, len(pts))
	copy(q, pts)
	if area < 0 {
		for i, j := 0, len(q)-1; i < j; i, j = i+1, j-1 {
			q[i], q[j] = q[j], q[i]
		}
	}
	p.polys = append(p.polys, q)
}

// segment adds a straight stroke of width w from a to b (butt ends).
func (p *path) segment(a, b pt, w float64) {
	dx, dy := b.x-a.x, b.y-a.y
	l := math.Hypot(dx, dy)
	if l == 0 {
		return
	}
	nx, ny := -dy/l*w/2, dx/l*w/2
	p.poly(pt{a.x + nx, a.y + ny}, pt{b.x + nx, b.y + ny}, pt{b.x - nx, b.y - ny}, pt{a.x - nx, a.y - ny})
}

// regular adds a regular polygon of n vertices and circumradius r centred at
// c, starting at angle a0 (radians, 0 = pointing right, y down).
func (p *path) regular(c pt, r float64, n int, a0 float64) {
	pts := make([]pt, n)
	for i := range pts {
		a := a0 + 2*math.Pi*float64(i)/float64(n)
		pts[i] = pt{c.x + r*math.Cos(a), c.y + r*math.Sin(a)}
	}
	p.poly(pts...)
}

// circle adds a disc of radius r.
func (p *path) circle(c pt, r float64) {
	n := max(10, int(math.Ceil(2*math.Pi*r/1.2)))
	p.regular(c, r, n, 0)
}

// rect adds an axis-aligned rectangle.
func (p *path) rect(x0, y0, x1, y1 float64) {
	p.poly(pt{x0, y0}, pt{x1, y0}, pt{x1, y1}, pt{x0, y1})
}

// fill rasterises p in colour col, clipped to clip.
func (c *canvas) fill(p *path, clip image.Rectangle, col color.Color) {
	clip = clip.Intersect(c.img.Bounds())
	if clip.Empty() || len(p.polys) == 0 {
		return
	}
	z := vector.NewRasterizer(clip.Dx(), clip.Dy())
	ox, oy := float64(clip.Min.X), float64(clip.Min.Y)
	// Coordinates far outside the clip are pulled in: the rasteriser works
	// in float32 and only needs them to be outside.
	lim := func(v, lo, hi float64) float32 {
		return float32(math.Max(lo-1e4, math.Min(v, hi+1e4)))
	}
	w, h := float64(clip.Dx()), float64(clip.Dy())
	for _, poly := range p.polys {
		for i, q := range poly {
			x, y := lim(q.x-ox, 0, w), lim(q.y-oy, 0, h)
			if i == 0 {
				z.MoveTo(x, y)
			} else {
				z.LineTo(x, y)
			}
		}
		z.ClosePath()
	}
	z.Draw(c.img, clip, image.NewUniform(col), image.Point{})
}

// clipSegment clips the segment a-b to the rectangle r (Liang–Barsky).
func clipSegment(a, b pt, r [4]float64) (pt, pt, bool) {
	t0, t1 := 0.0, 1.0
	dx, dy := b.x-a.x, b.y-a.y
	for _, e := range [4][2]float64{
		{-dx, a.x - r[0]}, {dx, r[2] - a.x},
		{-dy, a.y - r[1]}, {dy, r[3] - a.y},
	} {
		p, q := e[0], e[1]
		if p == 0 {
			if q < 0 {
				return a, b, false
			}
			continue
		}
		t := q / p
		if p < 0 {
			if t > t1 {
				return a, b, false
			}
			t0 = math.Max(t0, t)
		} else {
			if t < t0 {
				return a, b, false
			}
			t1 = math.Min(t1, t)
		}
	}
	return pt{a.x + t0*dx, a.y + t0*dy}, pt{a.x + t1*dx, a.y + t1*dy}, true
}

// polyline adds a stroke of width w through pts with round joins and caps.
// Segments are clipped to clip (grown by the stroke width).
func (p *path) polyline(pts []pt, w float64, clip image.Rectangle) {
	g := w + 2
	r := [4]float64{float64(clip.Min.X) - g, float64(clip.Min.Y) - g, float64(clip.Max.X) + g, float64(clip.Max.Y) + g}
	if len(pts) == 1 {
		if inRect(pts[0], r) {
			p.circle(pts[0], w/2)
		}
		return
	}
	for i := 0; i+1 < len(pts); i++ {
		a, b, ok := clipSegment(pts[i], pts[i+1], r)
		if !ok {
			continue
		}
		p.segment(a, b, w)
		p.circle(a, w/2)
		if i+2 == len(pts) || b != pts[i+1] {
			p.circle(b, w/2)
		}
	}
}

// dashed adds a dashed straight stroke from a to b.
func (p *path) dashed(a, b pt, w, on, off float64) {
	dx, dy := b.x-a.x, b.y-a.y
	l := math.Hypot(dx, dy)
	if l == 0 {
		return
	}
	ux, uy := dx/l, dy/l
	for s := 0.0; s < l; s += on + off {
		e := math.Min(s+on, l)
		p.segment(pt{a.x + ux*s, a.y + uy*s}, pt{a.x + ux*e, a.y + uy*e}, w)
	}
}

func inRect(q pt, r [4]float64) bool {
	return q.x >= r[0] && q.x <= r[2] && q.y >= r[1] && q.y <= r[3]
}

// marker adds the marker shape of index kind (circle, square, triangle up,
// diamond, triangle down, cycling) of nominal radius r centred at c.
func (p *path) marker(kind int, c pt, r float64) {
	switch kind % 5 {
	case 0:
		p.circle(c, r)
	case 1:
		s := r * 0.9
		p.rect(c.x-s, c.y-s, c.x+s, c.y+s)
	case 2:
		p.regular(pt{c.x, c.y + r*0.15}, r*1.25, 3, -math.Pi/2)
	case 3:
		p.regular(c, r*1.25, 4, 0)
	case 4:
		p.regular(pt{c.x, c.y - r*0.15}, r*1.25, 3, math.Pi/2)
	}
}
