// Package pretok splits text into the pieces ("words") that a byte-pair
// encoding tokenizer encodes one at a time.
//
// BPE tokenizers such as GPT-2's, tiktoken's cl100k_base and o200k_base,
// Llama 3's and Qwen2's first cut text with a regular expression, and only
// then merge bytes within each piece. Their patterns need look-ahead
// (\s+(?!\S) keeps the last space of a run for the word after it), which
// Go's regexp (RE2) does not have; RE2 also picks the leftmost-longest
// alternative where these patterns rely on Perl's leftmost-first choice and
// backtracking. github.com/dlclark/regexp2, a port of .NET's engine, runs
// them as written, and is what github.com/pkoukk/tiktoken-go uses, but it
// is slow: it backtracks over a []rune copy of the text.
//
// So this package has a hand-written splitter for each well-known pattern
// ([GPT2], [CL100K] also for Llama 3, [Qwen2], [O200K]; their patterns are
// the constants [GPT2Pattern] and so on), each a few branches per piece
// that reproduce what the backtracking engine does, without allocating:
// the pieces are substrings of the text. [ForPattern] returns the
// hand-written splitter when the pattern is one of these, byte for byte, and
// otherwise a [Generic] one that runs the pattern with regexp2. Example:
//
//	sp, err := pretok.ForPattern(pretok.CL100KPattern)
//	if err != nil {
//		return err
//	}
//	sp.Split("Hello world, it's 2024!", func(piece string) {
//		fmt.Printf("%q ", piece) // "Hello" " world" "," " it" "'s" " " "202" "4" "!"
//	})
//
// # Equivalence
//
// "Exactly equivalent" means: for every input string, a hand-written
// splitter emits the same pieces, in the same order, as regexp2 finds
// matches of its pattern compiled with regexp2.None (as tiktoken-go
// compiles it). The character classes are regexp2's: \s is
// unicode.IsSpace (so U+0085, U+00A0, U+1680, U+2000..U+200A, U+2028,
// U+2029, U+202F, U+205F and U+3000 are spaces, but U+200B and U+FEFF are
// not), and \p{L}, \p{N}, \p{Lu} and the rest are the tables of Go's
// unicode package, which the splitters read at run time, so both sides
// follow the Unicode version of the Go release. (?i:'s|...) matches a
// letter whose unicode.ToLower is the pattern's letter, as regexp2 does:
// 'S and 'RE match; the curly ’s does not, nor do 'ſ or 'K (Kelvin sign).
//
// The tests check this: on a table of hand-made cases (contractions in
// every case, digit runs, mixed scripts, combining marks, emoji and ZWJ
// sequences, \r\n runs, Unicode spaces, invalid UTF-8 and more), on tens of
// thousands of seeded random strings drawn from all those classes, on
// every code point for each character class, and with native fuzzing
// (FuzzSplitGPT2, FuzzSplitCL100K, FuzzSplitQwen2 and FuzzSplitO200K on
// arbitrary bytes, FuzzSplitAlphabet on texts built from a multi-script
// alphabet; their kept inputs are in testdata/fuzz). The reference is the
// regexp2 release tiktoken-go v0.1.8 requires, v1.10.0; later v1 releases
// change nothing these patterns use.
//
// # Invalid UTF-8
//
// regexp2 matches runes: tiktoken-go and [Generic] hand it []rune(text),
// which decodes each byte that does not begin a valid UTF-8 sequence (a
// stray continuation byte, a truncated sequence, an encoded surrogate) as
// one U+FFFD. The hand-written splitters decode the same way, so such a
// byte is a U+FFFD to the patterns: neither a letter, a number nor a space,
// it joins the neighbouring punctuation and symbols. In every case the
// pieces are cut from the original text at the byte offsets of the
// matched runes, so they hold the original bytes, not U+FFFD, and they
// always concatenate to the text exactly.
package pretok
