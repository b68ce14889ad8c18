package data

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"
	"unicode/utf8"

	"github.com/loomml/loom/internal/fsutil"
)

// The shard file layout is documented in doc.go.
const (
	shardMagic     = "LOOMTOK1"
	shardVersion   = 1
	fixedHeaderLen = 36
	// MaxTokenizerName is the longest tokenizer name, in bytes, that a
	// shard can record.
	MaxTokenizerName = 1024
	// MaxVocab is the largest vocabulary a shard can hold: ids are at most
	// 4 bytes wide. On 32-bit platforms the limit is math.MaxInt.
	MaxVocab = 1 << 32
)

// maxVocab is MaxVocab limited to what an int can hold.
const maxVocab uint64 = min(MaxVocab, math.MaxInt)

// WidthFor returns the bytes per token id that a shard uses for a
// vocabulary of the given size: 1 for up to 256 ids, 2 for up to 65,536,
// 4 otherwise.
func WidthFor(vocab int) int {
	switch {
	case vocab <= 1<<8:
		return 1
	case vocab <= 1<<16:
		return 2
	}
	return 4
}

// headerLen returns the length of the header, padding included, for a
// tokenizer name of n bytes.
func headerLen(n int) int { return (fixedHeaderLen + n + 7) &^ 7 }

func shardErr(path, format string, args ...any) error {
	return fmt.Errorf("data: token shard %s: %s", path, fmt.Sprintf(format, args...))
}

// WriteShard writes ids, tokens of a vocabulary of size vocab made by the
// tokenizer named tokenizer, to a token shard at path. Ids are stored
// WidthFor(vocab) bytes wide. It checks every id against vocab before
// writing, and writes atomically: the file appears complete, through a
// temporary file in the same directory renamed into place, or not at all
// (an existing file at path is then left as it was).
func WriteShard(path string, ids []int, vocab int, tokenizer string) error {
	if vocab < 1 || uint64(vocab) > maxVocab {
		return shardErr(path, "vocabulary size %d is out of range: want 1 to %d", vocab, uint64(maxVocab))
	}
	if len(tokenizer) > MaxTokenizerName || !utf8.ValidString(tokenizer) {
		return shardErr(path, "tokenizer name %q must be valid UTF-8 of at most %d bytes", tokenizer, MaxTokenizerName)
	}
	for i, id := range ids {
		if id < 0 || id >= vocab {
			return shardErr(path, "token %d is id %d, outside the vocabulary [0, %d)", i, id, vocab)
		}
	}
	w := WidthFor(vocab)
	hdr := make([]byte, headerLen(len(tokenizer)))
	copy(hdr, shardMagic)
	le := binary.LittleEndian
	le.PutUint32(hdr[8:], shardVersion)
	le.PutUint32(hdr[12:], uint32(w))
	le.PutUint64(hdr[16:], uint64(len(ids)))
	le.PutUint64(hdr[24:], uint64(vocab))
	le.PutUint32(hdr[32:], uint32(len(tokenizer)))
	copy(hdr[fixedHeaderLen:], tokenizer)
	return writeAtomic(path, func(out io.Writer) error {
		if _, err := out.Write(hdr); err != nil {
			return fmt.Errorf("data: writing %s: %w", path, err)
		}
		chunk := (1 << 16) / w
		buf := make([]byte, 0, chunk*w)
		for start := 0; start < len(ids); start += chunk {
			buf = buf[:0]
			for _, id := range ids[start:min(len(ids), start+chunk)] {
				switch w {
				case 1:
					buf = append(buf, byte(id))
				case 2:
					buf = le.AppendUint16(buf, uint16(id))
				default:
					buf = le.AppendUint32(buf, uint32(id))
				}
			}
			if _, err := out.Write(buf); err != nil {
				return fmt.Errorf("data: writing %s: %w", path, err)
			}
		}
		return nil
	})
}

// Shard is an open token shard: a read-only sequence of token ids. On Unix
// systems the file is memory-mapped, so opening is cheap and only the parts
// read are paged in; elsewhere it is read into memory. A Shard is safe for
// concurrent reads; Close must not run concurrently with them.
type Shard struct {
	path    string
	tok     string
	vocab   int
	width   int
	n       int
	ids     []byte       // the id bytes, n·width of them
	release func() error // unmaps the file, nil if it was read
}

// OpenShard opens and validates the token shard at path. Besides the header
// (magic, version, width, a tokenizer name of valid UTF-8, zero padding), it
// checks that the file size is exactly that of the header plus count ids,
// which detects truncation, that the width matches the vocabulary size
// (WidthFor), and that every id is below the vocabulary size (a scan of
// the whole file, skipped when the width cannot hold a larger id). Every
// error names the file, what is wrong and what was expected.
//
// If the file is truncated or rewritten in place while it is mapped, reading
// it may crash the program; WriteShard replaces files by renaming, which is
// safe.
func OpenShard(path string) (*Shard, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("data: %w", err)
	}
	if st.IsDir() {
		return nil, shardErr(path, "is a directory, not a token shard")
	}
	if st.Mode().IsRegular() {
		size := st.Size()
		if size < fixedHeaderLen {
			return nil, shardErr(path, "file is %d bytes, too short for the %d-byte header of a token shard (truncated, or not a shard)", size, fixedHeaderLen)
		}
		if size > math.MaxInt {
			return nil, shardErr(path, "file is %d bytes, too large to address on this platform", size)
		}
		if b, release, err := fsutil.Mmap(f, int(size)); err == nil {
			s, err := parseShard(path, b)
			if err != nil {
				_ = release()
				return nil, err
			}
			s.release = release
			return s, nil
		}
	}
	b, err := io.ReadAll(f)
	if err != nil {
		return nil, fmt.Errorf("data: reading %s: %w", path, err)
	}
	return parseShard(path, b)
}

// parseShard validates the shard bytes b read from path.
func parseShard(path string, b []byte) (*Shard, error) {
	if len(b) < fixedHeaderLen {
		return nil, shardErr(path, "file is %d bytes, too short for the %d-byte header of a token shard (truncated, or not a shard)", len(b), fixedHeaderLen)
	}
	if string(b[:8]) != shardMagic {
		return nil, shardErr(path, "bad magic %q: want %q (not a loom token shard)", b[:8], shardMagic)
	}
	le := binary.LittleEndian
	if v := le.Uint32(b[8:]); v != shardVersion {
		return nil, shardErr(path, "unsupported version %d: want %d", v, shardVersion)
	}
	width := le.Uint32(b[12:])
	if width != 1 && width != 2 && width != 4 {
		return nil, shardErr(path, "unsupported token width %d bytes: want 1, 2 or 4", width)
	}
	count := le.Uint64(b[16:])
	vocab := le.Uint64(b[24:])
	if vocab < 1 || vocab > maxVocab {
		return nil, shardErr(path, "vocabulary size %d is out of range: want 1 to %d", vocab, uint64(maxVocab))
	}
	if want := WidthFor(int(vocab)); uint32(want) != width {
		return nil, shardErr(path, "token width is %d bytes, but a vocabulary of %d ids is stored %d bytes wide", width, vocab, want)
	}
	nameLen := le.Uint32(b[32:])
	if nameLen > MaxTokenizerName {
		return nil, shardErr(path, "tokenizer name length %d is over the limit of %d bytes", nameLen, MaxTokenizerName)
	}
	hl := headerLen(int(nameLen))
	if len(b) < hl {
		return nil, shardErr(path, "file is %d bytes, too short for its %d-byte header with a %d-byte tokenizer name (truncated)", len(b), hl, nameLen)
	}
	name := b[fixedHeaderLen : fixedHeaderLen+nameLen]
	if !utf8.Valid(name) {
		return nil, shardErr(path, "tokenizer name %q is not valid UTF-8", name)
	}
	for _, c := range b[fixedHeaderLen+nameLen : hl] {
		if c != 0 {
			return nil, shardErr(path, "header padding after the tokenizer name must be zero bytes")
		}
	}
	size := uint64(len(b))
	overflow := count > (math.MaxUint64-uint64(hl))/uint64(width)
	if want := uint64(hl) + count*uint64(width); overflow || want != size {
		wantStr, what := fmt.Sprint(want), "truncated"
		if overflow {
			wantStr = "more than 2^64"
		} else if want < size {
			what = "trailing bytes after the last token"
		}
		return nil, shardErr(path, "file is %d bytes, but its header says %d tokens of %d bytes after a %d-byte header, %s bytes in all (%s)",
			size, count, width, hl, wantStr, what)
	}
	s := &Shard{path: path, tok: string(name), vocab: int(vocab), width: int(width), n: int(count), ids: b[hl:]}
	if i := s.firstOutOfVocab(); i >= 0 {
		return nil, shardErr(path, "token %d is id %d, outside the vocabulary [0, %d) recorded in the header", i, s.At(i), vocab)
	}
	return s, nil
}

// firstOutOfVocab returns the index of the first id ≥ vocab, or -1.
func (s *Shard) firstOutOfVocab() int {
	if uint64(s.vocab) == 1<<(8*s.width) {
		return -1 // no stored value can be out of range
	}
	v := uint32(s.vocab)
	switch s.width {
	case 1:
		for i, c := range s.ids {
			if uint32(c) >= v {
				return i
			}
		}
	case 2:
		for i := 0; i < s.n; i++ {
			if uint32(binary.LittleEndian.Uint16(s.ids[2*i:])) >= v {
				return i
			}
		}
	default:
		for i := 0; i < s.n; i++ {
			if binary.LittleEndian.Uint32(s.ids[4*i:]) >= v {
				return i
			}
		}
	}
	return -1
}

// Path returns the path the shard was opened from.
func (s *Shard) Path() string { return s.path }

// Len returns the number of tokens.
func (s *Shard) Len() int { return s.n }

// Vocab returns the vocabulary size recorded in the header: every id is
// below it.
func (s *Shard) Vocab() int { return s.vocab }

// Width returns the bytes per stored id: 1, 2 or 4.
func (s *Shard) Width() int { return s.width }

// Tokenizer returns the tokenizer name recorded in the header, for
// tokenizer.New.
func (s *Shard) Tokenizer() string { return s.tok }

// At returns token i. It panics if i is outside [0, Len()).
func (s *Shard) At(i int) int {
	if uint(i) >= uint(s.n) {
		panic(fmt.Sprintf("data: token index %d out of range [0, %d) of shard %s", i, s.n, s.path))
	}
	switch s.width {
	case 1:
		return int(s.ids[i])
	case 2:
		return int(binary.LittleEndian.Uint16(s.ids[2*i:]))
	}
	return int(binary.LittleEndian.Uint32(s.ids[4*i:]))
}

// Read fills dst with tokens start, start+1, …, start+len(dst)-1, without
// allocating. It panics if that range is not inside [0, Len()).
func (s *Shard) Read(dst []int, start int) {
	if start < 0 || start > s.n || len(dst) > s.n-start {
		panic(fmt.Sprintf("data: token range [%d, %d) out of range [0, %d) of shard %s", start, start+len(dst), s.n, s.path))
	}
	le := binary.LittleEndian
	switch s.width {
	case 1:
		for k, c := range s.ids[start : start+len(dst)] {
			dst[k] = int(c)
		}
	case 2:
		b := s.ids[2*start : 2*(start+len(dst))]
		for k := range dst {
			dst[k] = int(le.Uint16(b[2*k:]))
		}
	default:
		b := s.ids[4*start : 4*(start+len(dst))]
		for k := range dst {
			dst[k] = int(le.Uint32(b[4*k:]))
		}
	}
}

// Slice returns tokens [i, j) in a new slice. It panics unless
// 0 ≤ i ≤ j ≤ Len().
func (s *Shard) Slice(i, j int) []int {
	if i < 0 || i > j || j > s.n {
		panic(fmt.Sprintf("data: token slice [%d:%d] out of range [0, %d) of shard %s", i, j, s.n, s.path))
	}
	out := make([]int, j-i)
	s.Read(out, i)
	return out
}

// Close releases the shard (unmapping the file). The shard is empty
// afterwards. Close may be called more than once.
func (s *Shard) Close() error {
	s.ids, s.n = nil, 0
	if s.release == nil {
		return nil
	}
	rel := s.release
	s.release = nil
	if err := rel(); err != nil {
		return fmt.Errorf("data: closing %s: %w", s.path, err)
	}
	return nil
}
