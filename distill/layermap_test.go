package distill

import (
	"math"
	"strings"
	"testing"

	"github.com/loomml/loom/autograd"
	"github.com/loomml/loom/models/decoder"
	"github.com/loomml/loom/models/decoder/decodertest"
)

// TestLayerMap: a 1-layer student matched to the teacher's second layer
// has the hidden term of that pair, computed by hand in float64; bad maps
// are refused.
func TestLayerMap(t *testing.T) {
	teacher, _ := decoder.New(decodertest.TinyConfig(nil), 1)
	student, _ := decoder.New(decodertest.TinyConfig(func(c *decoder.Config) { c.NumHiddenLayers = 1 }), 2)
	b := batch(teacher.Config.VocabSize)
	d, err := New(student, teacher, Config{Hidden: 1, Layers: []int{0}, TeacherLayers: []int{1}})
	if err != nil {
		t.Fatal(err)
	}
	var sh, th []*autograd.Var
	autograd.NoGrad(func() {
		d.Loss(nil, b)
		sh, _ = run(student, nil, b)
		th, _ = run(teacher, nil, b)
	})
	s, tv := sh[0].Value.Contiguous().F32(), th[1].Value.Contiguous().F32()
	want := 0.0
	for i := range s {
		want += (float64(s[i]) - float64(tv[i])) * (float64(s[i]) - float64(tv[i]))
	}
	want /= float64(len(s))
	if math.Abs(d.Last["hidden"]-want) > 1e-5*math.Max(1, want) {
		t.Errorf("hidden term %v, by hand %v", d.Last["hidden"], want)
	}
	for _, c := range []struct {
		cfg  Config
		want string
	}{
		{Config{Hidden: 1, Layers: []int{0}, TeacherLayers: []int{2}}, "teacher layer 2"},
		{Config{Hidden: 1, Layers: []int{0}, TeacherLayers: []int{0, 1}}, "layer map"},
		{Config{Hidden: 1}, "same depth"},
	} {
		if _, err := New(student, teacher, c.cfg); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: %v, want %q", c.cfg, err, c.want)
		}
	}
}
