package tokenizer

import (
	"math"
	"strings"
	"testing"
	"unicode/utf8"
)

var roundTripCases = []struct {
	name, text string
}{
	{"empty", ""},
	{"english", "To be, or not to be: that is the question.\n"},
	{"multilingual", "naïve café 日本語 🙂 Ελληνικά русский עברית"},
	{"invalid utf8", "a\xff\xfeb\xc3(\xe2\x82\xf0\x9f\x99\x80\x80"},
	{"all bytes", func() string {
		b := make([]byte, 256)
		for i := range b {
			b[i] = byte(i)
		}
		return string(b)
	}()},
}

func TestByteRoundTrip(t *testing.T) {
	var tok Tokenizer = Byte{}
	for _, c := range roundTripCases {
		t.Run(c.name, func(t *testing.T) {
			ids := tok.Encode(c.text)
			if len(ids) != len(c.text) {
				t.Fatalf("Encode gave %d ids for %d bytes", len(ids), len(c.text))
			}
			for i, id := range ids {
				if id != int(c.text[i]) {
					t.Fatalf("id %d is %d, want byte %d", i, id, c.text[i])
				}
			}
			if got := tok.Decode(ids); got != c.text {
				t.Fatalf("Decode(Encode(%q)) = %q", c.text, got)
			}
			var cat []byte
			for _, id := range ids {
				cat = append(cat, tok.TokenBytes(id)...)
			}
			if string(cat) != c.text {
				t.Fatalf("concatenated TokenBytes = %q, want %q", cat, c.text)
			}
		})
	}
}

func TestByteProperties(t *testing.T) {
	tok := Byte{}
	if tok.VocabSize() != 256 || tok.EOS() != -1 || tok.Name() != "byte" {
		t.Fatalf("VocabSize %d, EOS %d, Name %q; want 256, -1, \"byte\"", tok.VocabSize(), tok.EOS(), tok.Name())
	}
	for _, id := range []int{-1, 256, math.MaxInt} {
		if got := tok.Decode([]int{'a', id, 'b'}); got != "a\uFFFDb" {
			t.Errorf("Decode with out-of-range id %d = %q, want %q", id, got, "a\uFFFDb")
		}
		if got := string(tok.TokenBytes(id)); got != "\uFFFD" {
			t.Errorf("TokenBytes(%d) = %q, want U+FFFD", id, got)
		}
	}
	// TokenBytes results must not alias each other through append.
	b := tok.TokenBytes('x')
	_ = append(b, 'y')
	if got := tok.TokenBytes('x' + 1); string(got) != "y" {
		t.Fatalf("append to TokenBytes result overwrote the table: TokenBytes('y') = %q", got)
	}
}

func TestNew(t *testing.T) {
	tok, err := New("byte")
	if err != nil {
		t.Fatal(err)
	}
	if tok.Name() != "byte" {
		t.Fatalf("New(\"byte\").Name() = %q", tok.Name())
	}
	_, err = New("nonesuch")
	if err == nil {
		t.Fatal("New(\"nonesuch\") succeeded")
	}
	if msg := err.Error(); !strings.Contains(msg, `"nonesuch"`) || !strings.Contains(msg, "byte") {
		t.Fatalf("error %q should name the unknown tokenizer and list the known ones", msg)
	}
	found := false
	for _, n := range Names() {
		found = found || n == "byte"
	}
	if !found {
		t.Fatalf("Names() = %v lacks \"byte\"", Names())
	}
}

func TestRegisterDuplicatePanics(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Fatal("registering \"byte\" twice did not panic")
		}
	}()
	Register("byte", func() (Tokenizer, error) { return Byte{}, nil })
}

// TestDecodeStreamSplitCharacter feeds multibyte characters one byte (token)
// at a time: nothing is emitted until the character is complete.
func TestDecodeStreamSplitCharacter(t *testing.T) {
	for _, ch := range []string{"é", "語", "🙂"} {
		ds := NewDecodeStream(Byte{})
		ids := Byte{}.Encode("a" + ch + "b")
		if got := ds.Add(ids[0]); got != "a" {
			t.Fatalf("%q: first Add = %q, want \"a\"", ch, got)
		}
		for i := 1; i < len(ch); i++ {
			if got := ds.Add(ids[i]); got != "" {
				t.Fatalf("%q: Add of byte %d/%d emitted %q before the character was complete", ch, i, len(ch), got)
			}
			if ds.Pending() != i {
				t.Fatalf("%q: Pending = %d, want %d", ch, ds.Pending(), i)
			}
		}
		if got := ds.Add(ids[len(ch)]); got != ch {
			t.Fatalf("%q: last byte of the character emitted %q", ch, got)
		}
		if got := ds.Add(ids[len(ch)+1]); got != "b" {
			t.Fatalf("%q: Add('b') = %q", ch, got)
		}
		if got := ds.Flush(); got != "" {
			t.Fatalf("%q: Flush = %q, want \"\"", ch, got)
		}
	}
}

// TestDecodeStreamConcatenation: for every input, including invalid UTF-8 and
// a character cut off at the end, the pieces concatenate to Decode, every
// piece but the flushed rest is free of incomplete characters, and the rest
// is held only because it could still become a character.
func TestDecodeStreamConcatenation(t *testing.T) {
	cases := append(roundTripCases[:len(roundTripCases):len(roundTripCases)],
		struct{ name, text string }{"cut emoji", "ok 🙂"[:len("ok 🙂")-1]},
		struct{ name, text string }{"cut then ascii", "\xe6\x97x\xf0\x9f"},
		struct{ name, text string }{"stray continuation", "\x80\x80é\x80"},
	)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tok := Byte{}
			ds := NewDecodeStream(tok)
			var out strings.Builder
			for _, id := range tok.Encode(c.text) {
				piece := ds.Add(id)
				if utf8.ValidString(c.text) && !utf8.ValidString(piece) {
					t.Fatalf("piece %q of valid text is not valid UTF-8", piece)
				}
				out.WriteString(piece)
			}
			rest := ds.Flush()
			if rest != "" && utf8.FullRuneInString(rest) {
				t.Fatalf("Flush returned %q, which was complete and should have been emitted", rest)
			}
			out.WriteString(rest)
			if out.String() != c.text {
				t.Fatalf("stream gave %q, want %q", out.String(), c.text)
			}
		})
	}
}

func TestCompleteLen(t *testing.T) {
	cases := []struct {
		in   string
		want int
	}{
		{"", 0},
		{"abc", 3},
		{"a\xc3", 1},
		{"a\xe6\x97", 1},
		{"a\xf0\x9f\x99", 1},
		{"a\xf0\x9f\x99\x82", 5},
		{"a\xff", 2},        // never valid: released
		{"a\xc0", 2},        // overlong lead byte: never valid
		{"a\xe0\x80", 3},    // E0 needs A0..BF next: invalid, released
		{"a\xed\xa0", 3},    // surrogate: invalid, released
		{"a\xf4\x90", 3},    // beyond U+10FFFF: invalid, released
		{"\x80\x80\x80", 3}, // continuation bytes only
		{"\xf0\x9f\x99\x82\xe2", 4},
	}
	for _, c := range cases {
		if got := completeLen([]byte(c.in)); got != c.want {
			t.Errorf("completeLen(%q) = %d, want %d", c.in, got, c.want)
		}
	}
}
