package repro

import (
	"math"
	"testing"

	"github.com/loomml/loom/models/prose"
)

func TestProseHelpers(t *testing.T) {
	rs := []prose.Result{{Valid: true, R2: 0.5}, {Valid: false}, {Valid: true, R2: 0.9}, {Valid: true, R2: 0.7}}
	v, m := proseSymbolStats(rs)
	if v != 0.75 || m != 0.7 {
		t.Errorf("proseSymbolStats = %g, %g; want 0.75, 0.7", v, m)
	}
	if _, m := proseSymbolStats([]prose.Result{{Valid: false}}); !math.IsNaN(m) {
		t.Errorf("median R² of no valid expression = %g, want NaN", m)
	}
	for _, c := range []struct {
		xs   []float64
		want float64
	}{{[]float64{3, 1, 2}, 2}, {[]float64{4, 1, 3, 2}, 2.5}, {[]float64{5}, 5}} {
		if got := proseMedian(c.xs); got != c.want {
			t.Errorf("proseMedian(%v) = %g, want %g", c.xs, got, c.want)
		}
	}
	if got := proseSmooth([]float64{1, 3, 5, 7}, 2); got[0] != 1 || got[1] != 2 || got[3] != 6 {
		t.Errorf("proseSmooth = %v", got)
	}
}
