package pretok

import (
	"flag"
	"fmt"
	"math/rand"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode"
	"unicode/utf8"
)

// splitters lists every hand-written splitter with its pattern; the
// reference for each is regexp2 running the pattern (Generic).
var splitters = []struct {
	name    string
	pattern string
	sp      Splitter
}{
	{"GPT2", GPT2Pattern, GPT2},
	{"CL100K", CL100KPattern, CL100K},
	{"Qwen2", Qwen2Pattern, Qwen2},
	{"O200K", O200KPattern, O200K},
}

var (
	refMu sync.Mutex
	refs  = map[string]*Generic{}
)

func reference(t testing.TB, pattern string) *Generic {
	refMu.Lock()
	defer refMu.Unlock()
	g, ok := refs[pattern]
	if !ok {
		var err error
		if g, err = NewGeneric(pattern); err != nil {
			t.Fatal(err)
		}
		refs[pattern] = g
	}
	return g
}

func pieces(sp Splitter, text string) []string {
	return AppendSplit(nil, sp, text)
}

// matches returns regexp2's matches of pattern in text, without gaps.
func matches(g *Generic, text string) []string {
	var out []string
	g.Matches(text, func(p string) { out = append(out, p) })
	return out
}

// checkSplit compares sp on text with regexp2 on the same pattern, and
// checks that the pieces are non-empty and concatenate to text.
func checkSplit(t testing.TB, name, pattern string, sp Splitter, text string) {
	t.Helper()
	got := pieces(sp, text)
	want := matches(reference(t, pattern), text)
	if !slices.Equal(got, want) {
		t.Fatalf("%s: %+q\n got  %+q\n want %+q", name, text, got, want)
	}
	if strings.Join(got, "") != text {
		t.Fatalf("%s: %+q: pieces %+q do not concatenate to the text", name, text, got)
	}
	for _, p := range got {
		if p == "" {
			t.Fatalf("%s: %+q: empty piece in %+q", name, text, got)
		}
	}
}

// tricky holds hand-made cases for every pattern.
var tricky = []string{
	"",
	" ",
	"  ",
	"a",
	"Hello world",
	"Hello, world! How's it going?",
	"I'm here, you're there, we've been, he'll go, she'd say, it's, don't",
	"I'M HERE, YOU'RE THERE, WE'VE BEEN, HE'LL GO, SHE'D SAY, IT'S, DON'T",
	"I'm I'M i'M 'S 's 'T 't 'Re 'rE 'RE 'vE 'Ve 'LL 'Ll 'lL 'D 'M",
	"'", "''", "'''s", "'s's", "x's", "x'", "'x", "'r", "'re", "'rex", "'l", "'ll", "'lll", "'v", "'ve",
	"'ſ 'K 'İ 'ß",      // U+017F, U+212A Kelvin sign, U+0130: no (?i) match
	"it’s don’t we’re", // curly apostrophe
	"’s ’S",
	" 's", "  's", "\n's", "a 's", "$'s", "'\u0301s",
	"1", "12", "123", "1234", "12345", "123456", "1234567", "3.14159", "1,000,000", "0x1F", "a1b22c333d4444",
	" 1", "  12", " 1234", "x1234567y",
	"٠١٢٣٤٥٦٧٨٩", "１２３４", "Ⅻ ½ ² ³", "①②③④", "𝟘𝟙𝟚",
	"naïve café résumé", "nai\u0308ve cafe\u0301", "e\u0301\u0301\u0301", "\u0301", " \u0301", "\u0301a", "A\u0301B", "\u0301\u0301x",
	"Привет, мир! ПРИВЕТ Мир", "Γειά σου Κόσμε", "ǅemal ǅ ǅA Aǅ aǅ", "ʰʰa aʰ Aʰ ʰA",
	"你好，世界！这是一个测试。", "日本語のテキスト、カタカナとひらがな。", "한국어 텍스트 입니다",
	"नमस्ते दुनिया, यह एक परीक्षण है।", "क्षत्रिय", "مرحبا بالعالم، هذا اختبار.", "שָׁלוֹם", "สวัสดีชาวโลก นี่คือการทดสอบ",
	"😀", "👍🏽", "👨‍👩‍👧‍👦", "🏳️‍🌈", "a😀b", " 😀", "😀😀 😀", "❤️", "1️⃣", "🇺🇸🇬🇧",
	"\t", "\t\t", "a\tb", "a\t\tb", "\tx", " \tx", "\t x",
	"\n", "\r", "\r\n", "\n\n", "\r\n\r\n", "a\nb", "a\r\nb", "a\n\nb", "a\n\n\nb", "a \n b", "a\n \nb",
	"  \n  x", "  \n  ", "\n  x", "x  \n", "x\n  ", "x \n\n  \n y", "\n\r \t\n\t x", "\r\r\r", "\n \n \n",
	" leading", "  leading", "   leading", "trailing ", "trailing  ", "trailing   ", "   ", "a   b", "a    b",
	" .", "  .", "a .b", "a  .b", "a ...", "x ?!", "?!", "...\n", "...\n\n", ".\r\n", "!\n\nx", " !\n", " !\n/", ".//\n/\n", "a/b", " /\n/",
	"// comment\nfunc main() {\n\tfmt.Println(\"hi\")\n}\n",
	"x\u00a0y", "\u00a0", "\u00a0\u00a0x", " \u00a0x", "\u00a0 x", "a\u00a0\u00a0b", "x\u00a0.", "\u00a0.",
	"x\u2028y", "\u2028", "\u2028\n", "x\u2029y", "x\u3000y", "\u3000\u3000x", "x\u0085y", "\u0085", "x\u000by", "x\u000cy",
	"x\u1680y", "x\u2000\u200ay", "x\u202fy", "x\u205fy", "x\u200by", "x\ufeffy", "x\u180ey", "x\u001cy", "\u001f\u001e",
	"\x00", "a\x00b", "\x7f",
	"\xff", "\x80", "a\xffb", "\xff\xfe", " \xff", "\xe2\x82", "\xe2\x82a", "x\xe2\x82\xacy", "\xed\xa0\x80", "\xed\xbf\xbf\xed\xa0\x80x",
	"\xef\xbf\xbd", " \xef\xbf\xbd\xff", "\xc0\xaf", "\xf4\x90\x80\x80", "\xf0\x9f\x98", "a'\xff", "'\xffs",
	"HELLO", "HELLOworld", "helloWorld", "HelloWorld", "ABcD", "aBC", "ABC's", "ABC'S", "Abc'd", "abc'LL",
	"McDonald's", "O'Neil", "iPhone", "eBay", "CamelCaseString", "snake_case_string", "SCREAMING_SNAKE",
	"Ⅻx", "x²", "x²y", "ℕ", "ﬁ ﬂ", "ǈ ǋ ǲ", "ᾈ ᾼ", "ẞ ß",
	"$100", " $100", "€5", "5€", "#hashtag", "@user", "user@example.com", "https://example.com/path?q=1&r=2",
	"α+β=γ", "a+b", "a  +b", "-x", "--x", " -x", "  -x", "(a)", "[\"x\"]",
	"\"quoted\"", "«guillemets»", "„deutsch“", "¿Qué?", "¡Hola!",
}

func TestTricky(t *testing.T) {
	for _, s := range splitters {
		for _, text := range tricky {
			checkSplit(t, s.name, s.pattern, s.sp, text)
		}
	}
}

func TestExamples(t *testing.T) {
	for _, c := range []struct {
		sp   Splitter
		text string
		want []string
	}{
		{GPT2, "Hello, world! I'm  here\n\n", []string{"Hello", ",", " world", "!", " I", "'m", " ", " here", "\n\n"}},
		{CL100K, "I'M 12345 abc\r\n\r\ndef", []string{"I", "'M", " ", "123", "45", " abc", "\r\n\r\n", "def"}},
		{Qwen2, "x 123", []string{"x", " ", "1", "2", "3"}},
		{O200K, "HelloWORLD don't DON'T a/b!\n/", []string{"Hello", "WORLD", " don't", " DON'T", " a", "/b", "!\n/"}},
	} {
		if got := pieces(c.sp, c.text); !slices.Equal(got, c.want) {
			t.Errorf("%+q: got %+q, want %+q", c.text, got, c.want)
		}
	}
}

// alphabet is what random texts are made of, with weights: runes and
// strings of every class the patterns tell apart.
var alphabet = []struct {
	w int
	s []string
}{
	{30, strings.Split("abcdefghijklmnopqrstuvwxyz", "")},
	{10, strings.Split("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "")},
	{10, strings.Split("sStTrReEvVmMlLdD", "")},
	{12, []string{"'"}},
	{4, []string{"'s", "'S", "'t", "'re", "'RE", "'rE", "'ve", "'m", "'ll", "'LL", "'d", "'D", "n't", "'x"}},
	{16, []string{" "}},
	{4, []string{"  ", "   "}},
	{8, strings.Split("0123456789", "")},
	{4, []string{"\n", "\r", "\t", "\r\n", "\n\n"}},
	{2, []string{"\v", "\f", "\u0085", "\u00a0", "\u1680", "\u2000", "\u2028", "\u2029", "\u202f", "\u205f", "\u3000"}},
	{8, strings.Split(".,;:!?-_()[]{}<>\"#$%&*+=@^`|~\\/", "")},
	{3, []string{"/", "//", "/\n"}},
	{2, []string{"’", "‘", "“", "”", "«", "»", "—", "–", "…", "€", "£", "©", "°", "±", "×"}},
	{3, []string{"é", "ü", "ñ", "ß", "ø", "É", "Ü", "Ñ", "ſ", "\u212a", "İ", "ı", "ǅ", "ǈ", "ʰ", "ˇ", "ᵃ", "ªº"}},
	{3, []string{"\u0301", "\u0300", "\u0308", "\u20dd", "\u0903", "\u093f", "\u094d", "\u0e31", "\u0e48", "\u05b8", "\u064e"}},
	{3, []string{"п", "р", "И", "Ж", "α", "Ω", "ש", "ב", "م", "ر", "ح", "क", "ष", "न", "ก", "ส", "ว"}},
	{3, []string{"你", "好", "世", "界", "の", "テ", "カ", "한", "국", "ー", "々", "〇", "𠀀"}},
	{2, []string{"٣", "۴", "߂", "१", "๓", "１", "Ⅻ", "ⅷ", "½", "²", "①", "𝟘", "〇"}},
	{3, []string{"😀", "👍", "🏽", "\u200d", "\ufe0f", "\u20e3", "🇺", "🇸", "❤", "👨", "👩", "\U000e0067"}},
	{2, []string{"\u200b", "\u200c", "\ufeff", "\u00ad", "\u0000", "\u001c", "\u001f", "\u007f", "\u180e", "\ufffd", "\U0010ffff"}},
	{3, []string{"\xff", "\x80", "\xc3", "\xe2\x82", "\xed\xa0\x80", "\xf0\x9f\x98", "\xc0\xaf", "\xf4\x90\x80\x80"}},
	{2, []string{"Hello", "WORLD", "iPhone", "McDonald", "don", "DON", "func", "return", "HTTPServer"}},
}

func randomText(rng *rand.Rand, maxParts int) string {
	total := 0
	for _, a := range alphabet {
		total += a.w
	}
	var b strings.Builder
	n := rng.Intn(maxParts + 1)
	for range n {
		k := rng.Intn(total)
		for _, a := range alphabet {
			if k < a.w {
				b.WriteString(a.s[rng.Intn(len(a.s))])
				break
			}
			k -= a.w
		}
	}
	return b.String()
}

var (
	randomCount = flag.Int("pretok.random", 20000, "random texts per pattern in TestRandom (a tenth with -short)")
	randomSeed  = flag.Int64("pretok.seed", 1, "seed of TestRandom")
)

func TestRandom(t *testing.T) {
	n := *randomCount
	if testing.Short() {
		n /= 10
	}
	for _, s := range splitters {
		t.Run(s.name, func(t *testing.T) {
			rng := rand.New(rand.NewSource(*randomSeed))
			for i := 0; i < n; i++ {
				checkSplit(t, s.name, s.pattern, s.sp, randomText(rng, 1+i%60))
			}
		})
	}
}

func TestForPattern(t *testing.T) {
	for _, s := range splitters {
		sp, err := ForPattern(s.pattern)
		if err != nil {
			t.Fatal(err)
		}
		if sp != s.sp {
			t.Errorf("ForPattern(%s pattern) = %T, want the hand-written splitter", s.name, sp)
		}
	}
	if sp, _ := ForPattern(Llama3Pattern); sp != CL100K {
		t.Errorf("ForPattern(Llama3Pattern) is not CL100K")
	}
	// Anything else goes to regexp2, gaps and all.
	sp, err := ForPattern(`\d+`)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := sp.(*Generic); !ok {
		t.Fatalf("ForPattern(`\\d+`) = %T, want *Generic", sp)
	}
	if got, want := pieces(sp, "ab12c345\xff6"), []string{"ab", "12", "c", "345", "\xff", "6"}; !slices.Equal(got, want) {
		t.Errorf("generic split: got %+q, want %+q", got, want)
	}
	if got, want := matches(sp.(*Generic), "ab12c345\xff6"), []string{"12", "345", "6"}; !slices.Equal(got, want) {
		t.Errorf("generic matches: got %+q, want %+q", got, want)
	}
	// Empty matches are dropped, and the text still comes back whole.
	sp, _ = ForPattern(`x*`)
	if got, want := pieces(sp, "axxb\xffx"), []string{"a", "xx", "b\xff", "x"}; !slices.Equal(got, want) {
		t.Errorf("generic split with empty matches: got %+q, want %+q", got, want)
	}
	// A pattern that does not compile is named in the error.
	if _, err := ForPattern(`(?<bad`); err == nil || !strings.Contains(err.Error(), "(?<bad") {
		t.Errorf("ForPattern(bad) error = %v, want one naming the pattern", err)
	}
}

// TestClassTable checks the class table against the unicode package, rune
// by rune, as regexp2 consults it.
func TestClassTable(t *testing.T) {
	tab := classes()
	cat := unicode.Categories
	for r := rune(0); r <= unicode.MaxRune; r++ {
		var want uint8
		if unicode.IsSpace(r) {
			want |= cSpace
		}
		if unicode.Is(cat["L"], r) {
			want |= cL
		}
		if unicode.Is(cat["N"], r) {
			want |= cN
		}
		if unicode.In(r, cat["Lu"], cat["Lt"], cat["Lm"], cat["Lo"], cat["M"]) {
			want |= cU
		}
		if unicode.In(r, cat["Ll"], cat["Lm"], cat["Lo"], cat["M"]) {
			want |= cW
		}
		if got := tab.class(r); got != want {
			t.Fatalf("class(%U) = %05b, want %05b", r, got, want)
		}
		if r < utf8.RuneSelf && tab.ascii[r] != want {
			t.Fatalf("ascii class(%U) = %05b, want %05b", r, tab.ascii[r], want)
		}
		// The splitters take only '\'' as the apostrophe of (?i:'s|...)
		// and fold only A-Z to a-z by hand: check that no other rune
		// lowercases to the apostrophe or a letter of a contraction.
		if l := unicode.ToLower(r); r >= utf8.RuneSelf && strings.ContainsRune("'strevmld", l) {
			t.Errorf("unicode.ToLower(%U) = %q: the (?i) contraction code needs updating", r, l)
		}
	}
	t.Logf("class table: %d blocks of %d bytes, index %d entries", len(tab.blocks)>>blockBits, 1<<blockBits, len(tab.index))
}

// TestClassesAgainstRegexp2 checks each character class of the patterns,
// as regexp2 compiles it, against the class table over every code point.
func TestClassesAgainstRegexp2(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	tab := classes()
	all := make([]rune, 0, unicode.MaxRune+1)
	for r := rune(0); r <= unicode.MaxRune; r++ {
		all = append(all, r)
	}
	for _, c := range []struct {
		pattern string
		bit     uint8
		neg     bool
	}{
		{`\s`, cSpace, false},
		{`\p{L}`, cL, false},
		{`\p{N}`, cN, false},
		{`[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]`, cU, false},
		{`[\p{Ll}\p{Lm}\p{Lo}\p{M}]`, cW, false},
		{`[^\s\p{L}\p{N}]`, cSLN, true},
	} {
		g := reference(t, c.pattern+"+")
		in := make([]bool, len(all))
		m, err := g.re.FindRunesMatch(all)
		for ; err == nil && m != nil; m, err = g.re.FindNextMatch(m) {
			for k := m.Index; k < m.Index+m.Length; k++ {
				in[k] = true
			}
		}
		if err != nil {
			t.Fatal(err)
		}
		for r, ok := range in {
			want := tab.class(rune(r))&c.bit != 0
			if c.neg {
				want = !want
			}
			if ok != want {
				t.Fatalf("%s: regexp2 says %v for %U, the table %v", c.pattern, ok, rune(r), want)
			}
		}
	}
}

func ExampleForPattern() {
	sp, err := ForPattern(CL100KPattern)
	if err != nil {
		panic(err)
	}
	sp.Split("Hello world, it's 2024!\n\n", func(piece string) {
		fmt.Printf("%q ", piece)
	})
	fmt.Println()
	// Output: "Hello" " world" "," " it" "'s" " " "202" "4" "!\n\n"
}
