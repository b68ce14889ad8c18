package sweep

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/loomml/loom/train"
)

func TestSweepParseAxis(t *testing.T) {
	for _, c := range []struct {
		in    string
		key   string
		jsons []string
		texts []string
	}{
		{"train.lr=1e-3,3e-3", "train.lr", []string{"0.001", "0.003"}, []string{"0.001", "0.003"}},
		{"train.lr=3E-5, 0.5 ,2.0", "train.lr", []string{"3e-5", "0.5", "2"}, []string{"3e-5", "0.5", "2"}},
		{"model.hidden_size=64,128", "model.hidden_size", []string{"64", "128"}, []string{"64", "128"}},
		{"model.loom.param=sp,mup", "model.loom.param", []string{`"sp"`, `"mup"`}, []string{"sp", "mup"}},
		{`model.loom.param="sp",mup`, "model.loom.param", []string{`"sp"`, `"mup"`}, []string{"sp", "mup"}},
		{`model.loom.tokenizer="a,b",c`, "model.loom.tokenizer", []string{`"a,b"`, `"c"`}, []string{"a,b", "c"}},
		{"model.tie_word_embeddings=true,false", "model.tie_word_embeddings", []string{"true", "false"}, []string{"true", "false"}},
		{`model.loom.phm={"n": 2, "layers": ["attn","ffn"]},null`, "model.loom.phm", []string{`{"n":2,"layers":["attn","ffn"]}`, "null"}, []string{`{"n":2,"layers":["attn","ffn"]}`, "null"}},
		{"model.loom.intermediate_sizes=[64,32],[32, 64]", "model.loom.intermediate_sizes", []string{"[64,32]", "[32,64]"}, []string{"[64,32]", "[32,64]"}},
		{"train.steps=1e3", "train.steps", []string{"1000"}, []string{"1000"}},
		{"train.lr=+1,.5,5.,-2e-3", "train.lr", []string{"1", "0.5", "5", "-0.002"}, []string{"1", "0.5", "5", "-0.002"}},
		{"model.loom.tokenizer=gpt2,e,1e", "model.loom.tokenizer", []string{`"gpt2"`, `"e"`, `"1e"`}, []string{"gpt2", "e", "1e"}},
	} {
		a, err := ParseAxis(c.in)
		if err != nil {
			t.Errorf("%s: %v", c.in, err)
			continue
		}
		var js, texts []string
		for _, v := range a.Values {
			js, texts = append(js, string(v.JSON)), append(texts, v.Text)
		}
		if a.Key != c.key || strings.Join(a.Path, ".") != c.key || !slices.Equal(js, c.jsons) || !slices.Equal(texts, c.texts) {
			t.Errorf("%s: key %q path %v, JSON %q, text %q; want %q, %q, %q", c.in, a.Key, a.Path, js, texts, c.key, c.jsons, c.texts)
		}
	}
	for _, c := range []struct{ in, want string }{
		{"train.lr", `"train.lr" has no '='`},
		{"=1,2", "no key before '='"},
		{"train.lr=", "no values after '='"},
		{"train.lr= ", "no values after '='"},
		{"train.lr=1,,2", "train.lr: value 2: empty"},
		{"train.lr=1,", "train.lr: value 2: empty"},
		{"train..lr=1", `key "train..lr" has an empty or blank part`},
		{"train.lr=1e-3,0.001", "train.lr: the value 0.001 is given twice"},
		{"train.lr=[1,2", "train.lr: values \"[1,2\": an unclosed"},
		{`train.lr="a`, "an unclosed quote"},
		{"train.lr=1]", "closes nothing"},
		{"train.lr=1e999", "out of the range of a float64"},
	} {
		_, err := ParseAxis(c.in)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: %v; want an error with %q", c.in, err, c.want)
		}
	}
}

func axes(t *testing.T, flags ...string) []Axis {
	t.Helper()
	var out []Axis
	for _, f := range flags {
		a, err := ParseAxis(f)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, a)
	}
	return out
}

func TestSweepExpand(t *testing.T) {
	pts := Expand(axes(t, "model.hidden_size=64,128", "train.lr=1e-3,3e-3,1e-2"))
	var got []string
	for _, p := range pts {
		var s []string
		for _, st := range p {
			s = append(s, st.Key+"="+st.Value.Text)
		}
		got = append(got, strings.Join(s, " "))
	}
	want := []string{
		"model.hidden_size=64 train.lr=0.001", "model.hidden_size=64 train.lr=0.003", "model.hidden_size=64 train.lr=0.01",
		"model.hidden_size=128 train.lr=0.001", "model.hidden_size=128 train.lr=0.003", "model.hidden_size=128 train.lr=0.01",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if n := len(Expand(nil)); n != 1 {
		t.Errorf("no axes: %d points, want 1", n)
	}
}

func TestSweepShortKeys(t *testing.T) {
	got := ShortKeys([]string{"train.lr", "model.loom.param", "model.param", "model.hidden_size"})
	want := map[string]string{"train.lr": "lr", "model.loom.param": "loom.param", "model.param": "model.param", "model.hidden_size": "hidden_size"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: %q, want %q", k, got[k], v)
		}
	}
}

func TestSweepName(t *testing.T) {
	name := func(seed uint64, flags ...string) string {
		a := axes(t, flags...)
		var keys []string
		for _, x := range a {
			keys = append(keys, x.Key)
		}
		return Name(Expand(a)[0], ShortKeys(keys), seed)
	}
	for _, c := range []struct {
		got, want string
	}{
		{name(1, "model.hidden_size=64", "train.lr=1e-3"), "hidden_size=64,lr=0.001,seed=1"},
		// The same whatever the order of the flags and the spelling of the number.
		{name(1, "train.lr=0.001", "model.hidden_size=64"), "hidden_size=64,lr=0.001,seed=1"},
		{name(7, "model.loom.param=mup"), "param=mup,seed=7"},
		{name(7), "seed=7"},
		{name(3, "train.lr=3e-5"), "lr=3e-5,seed=3"},
	} {
		if c.got != c.want {
			t.Errorf("name %q, want %q", c.got, c.want)
		}
	}
	// Unsafe characters are replaced, and a hash keeps the names apart.
	a, b := name(1, `model.loom.tokenizer="x/y"`), name(1, `model.loom.tokenizer="x_y"`)
	if !strings.HasPrefix(a, "tokenizer=x_y,seed=1~") || b != "tokenizer=x_y,seed=1" || a == b {
		t.Errorf("names %q and %q", a, b)
	}
	c, d := name(1, `model.loom.tokenizer="a,b"`), name(1, `model.loom.tokenizer="a=b"`)
	if c == d || strings.ContainsAny(strings.TrimSuffix(c[:strings.Index(c, ",seed")], ""), ",/") {
		t.Errorf("names %q and %q", c, d)
	}
	long := name(1, `model.loom.tokenizer="`+strings.Repeat("x", 300)+`"`)
	if len(long) > maxName || !strings.Contains(long, "~") {
		t.Errorf("long name %q (%d bytes)", long, len(long))
	}
	for _, n := range []string{a, c, d, long} {
		for _, r := range n {
			if !strings.ContainsRune("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-=,~", r) {
				t.Errorf("name %q has %q", n, r)
			}
		}
	}
}

func TestSweepApply(t *testing.T) {
	doc := []byte(`{"model": {"hidden_size": 64, "rms_norm_eps": 0.000001}, "train": {"lr": 1e-3}}`)
	out, err := Apply(doc, Setting{Path: []string{"model", "loom", "param"}, Value: Value{JSON: json.RawMessage(`"mup"`)}},
		Setting{Path: []string{"train", "lr"}, Value: Value{JSON: json.RawMessage(`0.003`)}})
	if err != nil {
		t.Fatal(err)
	}
	var got struct {
		Model struct {
			Eps  json.Number `json:"rms_norm_eps"`
			Loom struct{ Param string }
		}
		Train struct{ LR float64 }
	}
	if err := json.Unmarshal(out, &got); err != nil || got.Model.Loom.Param != "mup" || got.Train.LR != 0.003 || got.Model.Eps != "0.000001" {
		t.Errorf("%s: %+v, %v", out, got, err)
	}
	if _, err := Apply(doc, Setting{Path: []string{"train", "lr", "x"}, Value: Value{JSON: json.RawMessage(`1`)}}); err == nil || !strings.Contains(err.Error(), "train.lr is a number in the spec, not an object") {
		t.Errorf("through a number: %v", err)
	}
}

// tinySpec is the tiny preset's spec as `loom train --print-spec` writes it.
func tinySpec(t *testing.T) []byte {
	t.Helper()
	s, err := train.LookupPreset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	js, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return js
}

// Keys the spec does not have and values of the wrong type are errors
// naming the --grid flag and the key, before anything is trained.
func TestSweepPlanErrors(t *testing.T) {
	spec := tinySpec(t)
	for _, c := range []struct {
		grid  []string
		steps int
		want  string
	}{
		{[]string{"train.lrr=1"}, 0, `--grid train.lrr: train.lrr is not a key of the spec: train has no key "lrr"; did you mean "lr"?`},
		{[]string{"train.LR=1"}, 0, `--grid train.LR: train.LR is not a key of the spec: train has no key "LR"; did you mean "lr"?`},
		{[]string{"model.hiden_size=64"}, 0, `--grid model.hiden_size: model: "hiden_size" is not a key loom knows; did you mean "hidden_size"?`},
		{[]string{"model.loom.parm=mup"}, 0, `--grid model.loom.parm: model.loom.parm is not a key of the spec: model.loom has no key "parm"; did you mean "param"?`},
		{[]string{"model.loom.moe.router_nois=0.1"}, 0, `--grid model.loom.moe.router_nois: model.loom.moe.router_nois is not a key of the spec: model.loom.moe has no key "router_nois"; did you mean "router_noise"?`},
		{[]string{"model.rope_scaling.factr=2"}, 0, `--grid model.rope_scaling.factr: model.rope_scaling.factr is not a key of the spec: model.rope_scaling has no key "factr"; did you mean "factor"?`},
		{[]string{"tran.lr=1"}, 0, `--grid tran.lr: "tran" is not a spec key; did you mean "train"?`},
		{[]string{"lr=1"}, 0, `--grid lr: lr is not a key of the spec; did you mean train.lr?`},
		{[]string{"train.lr.x=1"}, 0, "--grid train.lr.x: train.lr is a number in the spec, not an object holding x"},
		{[]string{"model.hidden_size=64,abc"}, 0, "--grid model.hidden_size=abc: model: json: cannot unmarshal string into Go struct field Config.hidden_size of type int"},
		{[]string{"train.lr=fast"}, 0, "--grid train.lr=fast: train: json: cannot unmarshal string into Go struct field Settings.Hyper.lr of type float64"},
		{[]string{"train.steps=2.5"}, 0, "--grid train.steps=2.5: train: json: cannot unmarshal number 2.5"},
		{[]string{"train.lr=-1"}, 0, "--grid train.lr=-1: train.lr is -1, want a positive number"},
		{[]string{"model.loom.param=sp,bogus"}, 0, `--grid model.loom.param=bogus: model: loom.param is "bogus", want "sp" or "mup"`},
		{[]string{"train.seed=1,2"}, 0, "--grid train.seed: the seed is swept by --seeds N"},
		{[]string{"train.steps=5,10"}, 3, "--grid train.steps and --steps both set the steps"},
		{[]string{"model.loom=null", "model.loom.param=sp"}, 0, "--grid model.loom and --grid model.loom.param overlap"},
		{[]string{"train.lr=1e-3", "train.lr=3e-3"}, 0, "--grid train.lr is given twice"},
		// Each value is valid alone, the combination is not.
		{[]string{"model.hidden_size=64,40", "model.num_attention_heads=16"}, 0, "--grid point model.hidden_size=40,model.num_attention_heads=16: model: num_attention_heads (16) does not divide hidden_size (40)"},
	} {
		s := &Sweep{Config: spec, ConfigName: "tiny.json", Axes: axes(t, c.grid...), Steps: c.steps}
		_, err := s.Plan()
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("--grid %q: %v\nwant an error with %q", c.grid, err, c.want)
		}
	}
	s := &Sweep{Config: []byte(`{"model": {}, "trian": {}}`), ConfigName: "bad.json"}
	if _, err := s.Plan(); err == nil || !strings.Contains(err.Error(), `--config bad.json: "trian" is not a spec key`) {
		t.Errorf("bad config: %v", err)
	}
}

func TestSweepPlan(t *testing.T) {
	s := &Sweep{Config: tinySpec(t), Axes: axes(t, "model.hidden_size=32,64", "train.lr=1e-3", "model.loom.positions=learned"), Seeds: 2, Steps: 5}
	p, err := s.Plan()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range p.Runs {
		names = append(names, r.Name)
		if r.Spec.Train.Steps != 5 || r.Spec.Train.LR != 1e-3 || r.Spec.Train.Seed != r.Seed || r.Spec.Model.Loom.Positions != "learned" {
			t.Errorf("%s: %+v", r.Name, r.Spec.Train)
		}
		back, err := train.ParseSpec(r.JSON)
		if err != nil || back.Model.HiddenSize != r.Spec.Model.HiddenSize || back.Train.Seed != r.Seed {
			t.Errorf("%s: spec.json does not read back: %v", r.Name, err)
		}
	}
	want := []string{
		"hidden_size=32,lr=0.001,positions=learned,seed=1337", "hidden_size=32,lr=0.001,positions=learned,seed=1338",
		"hidden_size=64,lr=0.001,positions=learned,seed=1337", "hidden_size=64,lr=0.001,positions=learned,seed=1338",
	}
	if !slices.Equal(names, want) || !slices.Equal(p.Keys, []string{"model.hidden_size", "train.lr", "model.loom.positions"}) {
		t.Errorf("runs %q keys %q\nwant %q", names, p.Keys, want)
	}
	if p.Runs[0].Spec.Model.HiddenSize != 32 || p.Runs[2].Spec.Model.HiddenSize != 64 {
		t.Error("hidden_size not applied")
	}
	// A bare config.json trains with the default preset's settings, which
	// --grid train.* then changes.
	model, _ := json.Marshal(p.Runs[0].Spec.Model)
	s = &Sweep{Config: model, Axes: axes(t, "train.lr=0.01")}
	p, err = s.Plan()
	if err != nil || !p.Bare || len(p.Runs) != 1 || p.Runs[0].Spec.Train.LR != 0.01 || p.Runs[0].Spec.Train.BatchSize == 0 {
		t.Fatalf("bare config: %+v, %v", p, err)
	}
}
