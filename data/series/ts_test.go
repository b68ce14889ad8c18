package series

import (
	"errors"
	"math"
	"strings"
	"testing"
)

const tsUni = `# GunPoint-like
#   two comment lines
@problemName Toy
@timeStamps false
@missing false
@univariate true
@equalLength true
@seriesLength 3
@classLabel true a b
@data
1,2,3:a
-1.5e0,0,4:b
`

func TestReadTSHeader(t *testing.T) {
	f, err := ReadTS(strings.NewReader(tsUni), "toy.ts")
	if err != nil {
		t.Fatal(err)
	}
	if f.ProblemName != "Toy" || f.TimeStamps || f.Missing || !f.Univariate || f.Dimensions != 1 || !f.EqualLength || f.SeriesLength != 3 ||
		!f.ClassLabel || strings.Join(f.Labels, ",") != "a,b" || f.TargetLabel || len(f.Cases) != 2 {
		t.Fatalf("header %+v", f)
	}
	c := f.Cases[1]
	if c.Line != 12 || c.Label != "b" || len(c.Dims) != 1 || c.Dims[0][0] != -1.5 || c.Dims[0][2] != 4 || c.Len() != 3 {
		t.Fatalf("case %+v", c)
	}
}

// Multivariate, variable length, missing values, tags in any case, the
// @dimensions tag, a regression target and timestamps.
func TestReadTSVariants(t *testing.T) {
	f, err := ReadTS(strings.NewReader(`@problemname JV
@timestamps false
@missing true
@univariate false
@dimensions 2
@equallength false
@classlabel true 1 2 3
@data
1,2,3:4,5,6:3
1,?,NaN,2:0,0,0,0:1
`), "jv.ts")
	if err != nil {
		t.Fatal(err)
	}
	if f.Univariate || f.Dimensions != 2 || f.EqualLength || !f.Missing || f.Cases[1].Len() != 4 || !math.IsNaN(f.Cases[1].Dims[0][1]) || !math.IsNaN(f.Cases[1].Dims[0][2]) || f.Cases[0].Label != "3" {
		t.Fatalf("%+v", f)
	}
	f, err = ReadTS(strings.NewReader("@problemName R\n@targetLabel true\n@data\n1,2:0.5\n3,4:-2\n"), "r.ts")
	if err != nil || !f.TargetLabel || f.Cases[1].Target != -2 || f.ClassLabel {
		t.Fatalf("regression: %+v %v", f, err)
	}
	f, err = ReadTS(strings.NewReader("@problemName S\n@timeStamps true\n@classLabel true x\n@data\n(2007-01-01 00:00:00,1.5),(2007-01-01 01:00:00,?):(2007-01-01 00:00:00,3),(2007-01-01 01:00:00,4):x\n"), "s.ts")
	if err != nil {
		t.Fatal(err)
	}
	c := f.Cases[0]
	if !f.TimeStamps || len(c.Dims) != 2 || c.Dims[0][0] != 1.5 || !math.IsNaN(c.Dims[0][1]) || c.Stamps[1][1] != "2007-01-01 01:00:00" || c.Dims[1][1] != 4 {
		t.Fatalf("timestamps: %+v", c)
	}
	// No label tags: all fields are dimensions.
	f, err = ReadTS(strings.NewReader("@problemName U\n@data\n1,2:3,4\n"), "u.ts")
	if err != nil || f.Dimensions != 2 || f.ClassLabel {
		t.Fatalf("unlabelled: %+v %v", f, err)
	}
}

func TestReadTSErrors(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"@problemName X\n@data\n1,2,x:a\n", "x.ts:3: dimension 1, value 3: \"x\" is not a number"},
		{"@problemName X\n@classLabel true a\n@data\n1,2:c\n", `x.ts:4: class label "c" is not among @classLabel's [a]`},
		{"@problemName X\n@classLabel true a\n@data\n1,2\n", `x.ts:4: "1,2" has no ':' before a label`},
		{"@problemName X\n@classLabel true a\n@data\n1,2:a\n1,2:3:a\n", "x.ts:5: 2 dimensions, want 1 (as the first case has)"},
		{"@problemName X\n@dimensions 2\n@classLabel true a\n@data\n1,2:a\n", "x.ts:5: 1 dimensions, want 2 (as @dimensions says)"},
		{"@problemName X\n@univariate true\n@data\n1,2:3\n", "x.ts:4: @univariate true but 2 dimensions"},
		{"@problemName X\n@seriesLength 3\n@data\n1,2\n", "x.ts:4: a dimension of length 2, but @seriesLength is 3"},
		{"@problemName X\n@equalLength true\n@data\n1,2\n1,2,3\n", "x.ts:4: @equalLength true but the cases' lengths differ"},
		{"@problemName X\n@missing false\n@data\n1,?\n", "x.ts:4: @missing false but some values are missing"},
		{"@problemName X\n@missing maybe\n@data\n1\n", `x.ts:2: @missing "maybe": want true or false`},
		{"@problemName X\n@colour red\n@data\n1\n", "x.ts:2: unknown header tag @colour"},
		{"@problemName X\n@problemName Y\n", "x.ts:2: @problemname given twice"},
		{"@problemName X\n@classLabel true\n@data\n1:a\n", "x.ts:2: @classLabel true lists no labels"},
		{"@problemName X\n@classLabel true a a\n", `x.ts:2: @classLabel lists "a" twice`},
		{"1,2,3\n", `x.ts:1: "1,2,3" before @data`},
		{"@problemName X\n", "x.ts:1: no @data line"},
		{"@problemName X\n@data\n", "x.ts:2: no cases after @data"},
		{"@problemName X\n@data\n1,,2\n", `x.ts:3: dimension 1, value 2: "" is not a number`},
		{"@problemName X\n@data\n1::2\n", "x.ts:3: dimension 2 is empty"},
		{"@problemName X\n@timeStamps true\n@data\n(1,2),(2\n", "x.ts:4: dimension 1: \"(2\": unclosed ("},
		{"@problemName X\n@targetLabel true\n@data\n1,2:high\n", `x.ts:4: regression target "high" is not a number`},
		{"@problemName X\n@data\n1,Inf\n", `x.ts:3: dimension 1, value 2: "Inf" is not a number`},
	} {
		_, err := ReadTS(strings.NewReader(tc.in), "x.ts")
		var te *TSError
		if err == nil || !errors.As(err, &te) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: error %v, want %q", tc.in, err, tc.want)
		}
	}
}

// FuzzReadTS: no input panics; what reads is consistent with its header.
func FuzzReadTS(f *testing.F) {
	f.Add(tsUni)
	f.Add("@problemName S\n@timeStamps true\n@classLabel true x\n@data\n(2007-01-01 00:00:00,1.5),(2,?):(1,3):x\n")
	f.Add("@problemName R\n@targetLabel true\n@dimensions 2\n@data\n1,2:3,?:0.5\n")
	f.Fuzz(func(t *testing.T, in string) {
		ts, err := ReadTS(strings.NewReader(in), "f.ts")
		if err != nil {
			return
		}
		for _, c := range ts.Cases {
			if len(c.Dims) != ts.Dimensions {
				t.Fatalf("case of %d dimensions in a file of %d", len(c.Dims), ts.Dimensions)
			}
			if ts.ClassLabel && !contains(ts.Labels, c.Label) {
				t.Fatalf("label %q not declared", c.Label)
			}
		}
	})
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

func TestReadUCR(t *testing.T) {
	f, err := ReadUCR(strings.NewReader("label,t1,t2,t3\n1,0.5,1,2\n2\t1\t\t3\n1,NaN,2\n"), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	if len(f.Cases) != 3 || strings.Join(f.Labels, ",") != "1,2" || !f.Missing || f.EqualLength || f.Cases[1].Line != 3 || !math.IsNaN(f.Cases[1].Dims[0][1]) || f.Cases[2].Len() != 2 {
		t.Fatalf("%+v", f)
	}
	for _, tc := range []struct{ in, want string }{
		{"1,2,x\n", `x.csv:1: value 2: "x" is not a number`},
		{"1,2\n1,x\n", `x.csv:2: value 1: "x" is not a number`},
		{"1\n", `x.csv:1: "1": want a label and at least one value`},
		{",1,2\n", "x.csv:1: empty class label"},
		{"\n", "x.csv:1: no cases"},
	} {
		if _, err := ReadUCR(strings.NewReader(tc.in), "x.csv"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
	}
}

// The archives' sets, when present (they are not shipped: package
// external finds them), read whole with the archives' sizes.
func TestUCRSets(t *testing.T) {
	want := map[string][4]int{ // train cases, test cases, dimensions, classes
		"GunPoint": {50, 150, 1, 2}, "ItalyPowerDemand": {67, 1029, 1, 2},
		"BasicMotions": {40, 40, 6, 4}, "JapaneseVowels": {270, 370, 12, 9},
	}
	for _, name := range UCRSets {
		tr, te, err := ReadUCRSet(name)
		if err != nil {
			t.Skip(err)
		}
		w := want[name]
		if len(tr.Cases) != w[0] || len(te.Cases) != w[1] || tr.Dimensions != w[2] || len(tr.Labels) != w[3] || te.Dimensions != w[2] {
			t.Errorf("%s: %d/%d cases, %d dimensions, %d classes; want %v", name, len(tr.Cases), len(te.Cases), tr.Dimensions, len(tr.Labels), w)
		}
	}
	if _, _, err := ReadUCRSet("Coffee"); err == nil {
		t.Error("an unknown set read")
	}
}

func TestReadTable(t *testing.T) {
	tb, err := ReadTable(strings.NewReader("reading,Timestamp,x,label\n1,2014-01-01 00:00:00,0.5,0\n2,2014-01-01 00:05:00,-1e3,1\n"), "t.csv")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(tb.Columns, ",") != "reading,x,label" || tb.TimeColumn != "Timestamp" || tb.Times[1] != "2014-01-01 00:05:00" || tb.Values[1][1] != -1000 {
		t.Fatalf("%+v", tb)
	}
	if _, err := tb.Column("y"); err == nil || !strings.Contains(err.Error(), "no column \"y\" (columns: reading, x, label)") {
		t.Fatal(err)
	}
	for _, tc := range []struct{ in, want string }{
		{"x,y\n1,z\n", `line 2, column "y": "z" is not a finite number`},
		{"x,y\n1\n", "line 2: 1 fields, the header has 2"},
		{"date\n2014-01-01\n", "line 1: no numeric columns"},
		{"x\n", "no data rows"},
		{"", "empty file"},
	} {
		if _, err := ReadTable(strings.NewReader(tc.in), "t.csv"); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want %q", tc.in, err, tc.want)
		}
	}
}

func TestSensorNetworkAndWindows(t *testing.T) {
	s := SensorNetwork()
	lab, _ := s.Column("label")
	n := 0
	for _, r := range s.Values {
		if r[lab] == 1 {
			n++
		}
	}
	if len(s.Values) != 18914 || n != 149 {
		t.Fatalf("%d readings, %d anomalies; want 18,914 and 149", len(s.Values), n)
	}
	tb, _ := ReadTable(strings.NewReader("timestamp,value\n2014-01-01 00:00:00,1\n2014-01-01 00:05:00,2\n2014-01-01 00:10:00,3\n"), "t.csv")
	got, err := WindowLabels(tb, [][2]string{{"2014-01-01 00:05:00.000000", "2014-01-01 00:10:00.000000"}})
	if err != nil || got[0] || !got[1] || !got[2] {
		t.Fatalf("%v %v", got, err)
	}
	if _, err := WindowLabels(tb, [][2]string{{"soon", "later"}}); err == nil {
		t.Error("bad window time accepted")
	}
}
