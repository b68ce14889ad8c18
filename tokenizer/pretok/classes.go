package pretok

import (
	"sync"
	"unicode"
	"unicode/utf8"
)

// Character classes, as bits of a class byte. A rune with none of cSpace,
// cL and cN is "other": it is in [^\s\p{L}\p{N}].
const (
	cSpace uint8 = 1 << iota // \s: unicode.IsSpace, as regexp2 uses it
	cL                       // \p{L}
	cN                       // \p{N}
	cU                       // [\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}] (o200k "upper")
	cW                       // [\p{Ll}\p{Lm}\p{Lo}\p{M}] (o200k "lower")

	cSLN = cSpace | cL | cN
)

// blockBits is log2 of the size of one block of the two-stage class table.
const blockBits = 7

// classTable maps every rune to its class byte: index[r>>blockBits] names a
// block of blocks, in which r's class is at offset r&(1<<blockBits-1).
// Identical blocks are stored once.
type classTable struct {
	ascii  [utf8.RuneSelf]uint8
	index  []uint16
	blocks []uint8
}

var (
	tableOnce sync.Once
	table     *classTable
)

// classes returns the class table, building it on first use. It is built
// at run time from the unicode package's tables, the very tables regexp2
// consults, so that both agree whatever Unicode version Go ships.
func classes() *classTable {
	tableOnce.Do(func() { table = buildClassTable() })
	return table
}

func buildClassTable() *classTable {
	flat := make([]uint8, unicode.MaxRune+1)
	mark := func(rt *unicode.RangeTable, bits uint8) {
		for _, r := range rt.R16 {
			for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
				flat[c] |= bits
			}
		}
		for _, r := range rt.R32 {
			for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
				flat[c] |= bits
			}
		}
	}
	// regexp2 looks categories up by name in a map built from
	// unicode.Scripts, unicode.Categories and unicode.Properties; the
	// names used here are only in unicode.Categories.
	cat := unicode.Categories
	mark(cat["L"], cL)
	mark(cat["N"], cN)
	for _, name := range []string{"Lu", "Lt", "Lm", "Lo", "M"} {
		mark(cat[name], cU)
	}
	for _, name := range []string{"Ll", "Lm", "Lo", "M"} {
		mark(cat[name], cW)
	}
	// \s is unicode.IsSpace: a fixed list below U+0100, White_Space above.
	for c := rune(0); c <= unicode.MaxLatin1; c++ {
		if unicode.IsSpace(c) {
			flat[c] |= cSpace
		}
	}
	for _, r := range unicode.White_Space.R16 {
		for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
			if c > unicode.MaxLatin1 && unicode.IsSpace(c) {
				flat[c] |= cSpace
			}
		}
	}
	for _, r := range unicode.White_Space.R32 {
		for c := rune(r.Lo); c <= rune(r.Hi); c += rune(r.Stride) {
			if c > unicode.MaxLatin1 && unicode.IsSpace(c) {
				flat[c] |= cSpace
			}
		}
	}

	t := &classTable{}
	copy(t.ascii[:], flat[:utf8.RuneSelf])
	const bs = 1 << blockBits
	nblocks := len(flat) / bs
	t.index = make([]uint16, nblocks)
	seen := make(map[string]uint16)
	for b := 0; b < nblocks; b++ {
		blk := flat[b*bs : (b+1)*bs]
		id, ok := seen[string(blk)]
		if !ok {
			id = uint16(len(t.blocks) / bs)
			seen[string(blk)] = id
			t.blocks = append(t.blocks, blk...)
		}
		t.index[b] = id
	}
	return t
}

// class returns the class of r, which must be in 0..unicode.MaxRune.
func (t *classTable) class(r rune) uint8 {
	return t.blocks[int(t.index[r>>blockBits])<<blockBits|int(r&(1<<blockBits-1))]
}

// classAt decodes the rune at s[i] (i < len(s)) and returns its class and
// its width in bytes. An invalid byte decodes as U+FFFD of width 1, exactly
// as []rune(s) does, and so is "other".
func (t *classTable) classAt(s string, i int) (uint8, int) {
	if b := s[i]; b < utf8.RuneSelf {
		return t.ascii[b], 1
	}
	return t.classAtMulti(s, i)
}

func (t *classTable) classAtMulti(s string, i int) (uint8, int) {
	r, w := utf8.DecodeRuneInString(s[i:])
	return t.class(r), w
}

// span returns the end of the run of runes from s[i] whose class has a bit
// of want.
func (t *classTable) span(s string, i int, want uint8) int {
	for i < len(s) {
		if b := s[i]; b < utf8.RuneSelf {
			if t.ascii[b]&want == 0 {
				break
			}
			i++
			continue
		}
		c, w := t.classAtMulti(s, i)
		if c&want == 0 {
			break
		}
		i += w
	}
	return i
}

// spanOther returns the end of the run of [^\s\p{L}\p{N}] from s[i].
func (t *classTable) spanOther(s string, i int) int {
	for i < len(s) {
		if b := s[i]; b < utf8.RuneSelf {
			if t.ascii[b]&cSLN != 0 {
				break
			}
			i++
			continue
		}
		c, w := t.classAtMulti(s, i)
		if c&cSLN != 0 {
			break
		}
		i += w
	}
	return i
}

// spanN returns the end of at most limit runes of \p{N} from s[i].
func (t *classTable) spanN(s string, i, limit int) int {
	for n := 0; n < limit && i < len(s); n++ {
		c, w := t.classAt(s, i)
		if c&cN == 0 {
			break
		}
		i += w
	}
	return i
}

// spanBytes returns the end of the run of bytes from s[i] that are in set
// (all ASCII, so no multibyte rune can be cut).
func spanBytes(s string, i int, set string) int {
	for i < len(s) && indexByte(set, s[i]) {
		i++
	}
	return i
}

func indexByte(set string, b byte) bool {
	for k := 0; k < len(set); k++ {
		if set[k] == b {
			return true
		}
	}
	return false
}

// whitespace matches \s*[\r\n]+|\s+(?!\S)|\s+ (withNewline) or
// \s+(?!\S)|\s+ at s[i], which must be a \s rune.
//
// \s*[\r\n]+ backtracks \s* to the last \r or \n of the run of \s and ends
// just after it. \s+(?!\S) takes the whole run at the end of the text, or
// else all of it but its last rune, if that leaves one. \s+ takes the one
// rune that is left otherwise.
func (t *classTable) whitespace(s string, i int, withNewline bool) int {
	j, last, nl := i, i, -1
	for j < len(s) {
		c, w := t.classAt(s, j)
		if c&cSpace == 0 {
			break
		}
		if b := s[j]; b == '\r' || b == '\n' {
			nl = j + 1
		}
		last = j
		j += w
	}
	if withNewline && nl >= 0 {
		return nl
	}
	if j == len(s) || last == i {
		return j
	}
	return last
}

// contraction matches 's|'t|'re|'ve|'m|'ll|'d at s[i], which must be an
// apostrophe, and returns its end, or -1. With fold it matches as regexp2
// does under (?i): a text rune matches a pattern letter if unicode.ToLower
// of it is that letter.
func contraction(s string, i int, fold bool) int {
	i++ // the apostrophe
	if i >= len(s) {
		return -1
	}
	r1, w1 := lowerAt(s, i, fold)
	switch r1 {
	case 's', 't', 'm', 'd':
		return i + w1
	case 'r', 'v', 'l':
		want := 'e'
		if r1 == 'l' {
			want = 'l'
		}
		if i+w1 < len(s) {
			if r2, w2 := lowerAt(s, i+w1, fold); r2 == want {
				return i + w1 + w2
			}
		}
	}
	return -1
}

func lowerAt(s string, i int, fold bool) (rune, int) {
	b := s[i]
	if b < utf8.RuneSelf {
		if fold && 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		return rune(b), 1
	}
	r, w := utf8.DecodeRuneInString(s[i:])
	if fold {
		r = unicode.ToLower(r)
	}
	return r, w
}
