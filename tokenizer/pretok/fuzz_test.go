package pretok

import (
	"strings"
	"testing"
)

// The fuzz targets compare each hand-written splitter with regexp2 on the
// same pattern. Their seed corpus is the tricky table plus
// testdata/fuzz/<target>, which holds inputs kept from fuzzing runs:
//
//	go test -run '^$' -fuzz '^FuzzSplitCL100K$' -fuzztime 60s ./tokenizer/pretok

func fuzzSplit(f *testing.F, name, pattern string, sp Splitter) {
	for _, s := range tricky {
		f.Add(s)
	}
	reference(f, pattern)
	f.Fuzz(func(t *testing.T, text string) {
		checkSplit(t, name, pattern, sp, text)
	})
}

func FuzzSplitGPT2(f *testing.F)   { fuzzSplit(f, "GPT2", GPT2Pattern, GPT2) }
func FuzzSplitCL100K(f *testing.F) { fuzzSplit(f, "CL100K", CL100KPattern, CL100K) }
func FuzzSplitQwen2(f *testing.F)  { fuzzSplit(f, "Qwen2", Qwen2Pattern, Qwen2) }
func FuzzSplitO200K(f *testing.F)  { fuzzSplit(f, "O200K", O200KPattern, O200K) }

// FuzzSplitAlphabet builds texts from the alphabet of the random tests, one
// entry per input byte, so that the fuzzer combines letters, marks, digits,
// spaces and symbols of many scripts rather than mostly ASCII, and checks
// every hand-written splitter on them.
func FuzzSplitAlphabet(f *testing.F) {
	var entries []string
	for _, a := range alphabet {
		entries = append(entries, a.s...)
	}
	f.Add([]byte{0, 1, 2, 3})
	f.Add([]byte("Hello, world! It's 12345 o'clock.\n\n"))
	for _, s := range splitters {
		reference(f, s.pattern)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var b strings.Builder
		for _, x := range data {
			b.WriteString(entries[int(x)%len(entries)])
		}
		text := b.String()
		for _, s := range splitters {
			checkSplit(t, s.name, s.pattern, s.sp, text)
		}
	})
}
