// Package events reads temporal-graph event streams — one interaction
// (src, dst, timestamp[, features…]) per line — and splits them
// chronologically for link prediction, as TGN and DyGLib do.
//
// Two text formats are read, told apart by the first data line:
//
//   - CSV: src,dst,timestamp[,f1,f2,…] (RFC 4180 quoting; lines starting
//     with # are comments);
//   - SNAP's whitespace format: "src dst timestamp [f1 f2 …]" separated by
//     spaces or tabs (lines starting with # or % are comments), e.g.
//     CollegeMsg.txt.
//
// A header line is optional: the first data line is a header when its third
// field is not a number. Node ids may be any non-empty strings; they are
// renumbered 0..N−1 (in ascending numeric order when every id is an
// integer, else in order of first appearance in time) and the original ids
// kept in Stream.IDs. Events are sorted by timestamp, stably, so events
// with equal timestamps keep their order in the file. Bad input is an
// error naming the file, the line and the field; nothing is skipped.
//
//	s, err := events.ReadFile("CollegeMsg.txt.gz") // .gz is decompressed
//	sp, err := s.ChronoSplit(0.15, 0.15)          // 70/15/15 by time
//	for _, i := range sp.Test { _ = s.Src[i]; _ = s.Dst[i]; _ = s.Time[i] }
//	newLinks := sp.Inductive(s, sp.Test) // test events touching a node unseen in training
package events

import (
	"bytes"
	"cmp"
	"compress/gzip"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Stream is a chronologically sorted event stream.
type Stream struct {
	Name     string    // file name, for messages
	Src, Dst []int     // node indices in 0..NumNodes()−1
	Time     []float64 // timestamps, non-decreasing
	// Feat holds FeatDim features per event, row-major (event i's are
	// Feat[i*FeatDim:(i+1)*FeatDim]); nil when FeatDim is 0.
	Feat    []float32
	FeatDim int
	// IDs[n] is node n's id as written in the file.
	IDs []string
	// Columns is the header, when the file has one.
	Columns []string
}

// Len is the number of events.
func (s *Stream) Len() int { return len(s.Time) }

// NumNodes is the number of distinct nodes.
func (s *Stream) NumNodes() int { return len(s.IDs) }

// Features returns event i's features (nil when FeatDim is 0).
func (s *Stream) Features(i int) []float32 {
	if s.FeatDim == 0 {
		return nil
	}
	return s.Feat[i*s.FeatDim : (i+1)*s.FeatDim]
}

// Sorted reports whether the timestamps are non-decreasing.
func (s *Stream) Sorted() bool { return sort.Float64sAreSorted(s.Time) }

// Format is a text format for Read.
type Format int

const (
	FormatAuto Format = iota // CSV if the first data line has a comma, else SNAP
	FormatCSV                // comma-separated, RFC 4180 quoting
	FormatSNAP               // whitespace-separated, SNAP's temporal networks
)

// Header says whether the first data line is a header.
type Header int

const (
	HeaderAuto Header = iota // a header when its third field is not a number
	HeaderYes
	HeaderNo
)

// Options control Read; the zero value detects format and header.
type Options struct {
	Format Format
	Header Header
}

// ReadFile reads an event stream from a file, decompressing it when the
// name ends in .gz, detecting its format and header.
func ReadFile(path string) (*Stream, error) { return ReadFileWith(path, Options{}) }

// ReadFileWith is ReadFile with the format and header given by o.
func ReadFileWith(path string, o Options) (*Stream, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("events: %w", err)
	}
	defer f.Close()
	var r io.Reader = f
	if strings.HasSuffix(path, ".gz") {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return nil, fmt.Errorf("events: %s: %w", path, err)
		}
		defer zr.Close()
		r = zr
	}
	return Read(r, filepath.Base(path), o)
}

// fieldName names field k (0-based) of an event line in messages.
func fieldName(k int) string {
	switch k {
	case 0:
		return "field 1 (src)"
	case 1:
		return "field 2 (dst)"
	case 2:
		return "field 3 (timestamp)"
	}
	return fmt.Sprintf("field %d (feature %d)", k+1, k-2)
}

// record is one data line as read.
type record struct {
	line   int
	fields []string
}

// Read parses an event stream; name labels errors.
func Read(r io.Reader, name string, opt Options) (*Stream, error) {
	raw, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("events: %s: %w", name, err)
	}
	raw = bytes.TrimPrefix(raw, []byte("\xef\xbb\xbf"))
	format := opt.Format
	if format == FormatAuto {
		format = FormatSNAP
		if first, ok := firstDataLine(raw); ok && strings.Contains(first, ",") {
			format = FormatCSV
		}
	}
	var recs []record
	switch format {
	case FormatCSV:
		recs, err = splitCSV(raw, name)
	case FormatSNAP:
		recs = splitSNAP(raw)
	default:
		return nil, fmt.Errorf("events: %s: unknown format %d", name, format)
	}
	if err != nil {
		return nil, err
	}
	s := &Stream{Name: name}
	if len(recs) == 0 {
		return nil, fmt.Errorf("events: %s: no events", name)
	}
	header := opt.Header == HeaderYes
	if opt.Header == HeaderAuto && len(recs[0].fields) >= 3 {
		if _, err := parseTime(recs[0].fields[2]); err != nil {
			header = true
		}
	}
	hdrLine := 0
	if header {
		s.Columns = recs[0].fields
		hdrLine = recs[0].line
		recs = recs[1:]
		if len(recs) == 0 {
			return nil, fmt.Errorf("events: %s: a header and no events", name)
		}
	}
	width := len(recs[0].fields)
	if width < 3 {
		return nil, fmt.Errorf("events: %s:%d: %d fields, want src, dst, timestamp[, features…]", name, recs[0].line, width)
	}
	if header && len(s.Columns) != width {
		return nil, fmt.Errorf("events: %s:%d: %d fields, want %d as in the header on line %d", name, recs[0].line, width, len(s.Columns), hdrLine)
	}
	n := len(recs)
	s.FeatDim = width - 3
	src := make([]string, 0, 2*n)
	dst := make([]string, 0, n)
	times := make([]float64, n)
	if s.FeatDim > 0 {
		s.Feat = make([]float32, n*s.FeatDim)
	}
	for i, rec := range recs {
		f := rec.fields
		if len(f) != width {
			return nil, fmt.Errorf("events: %s:%d: %d fields, want %d as on line %d", name, rec.line, len(f), width, recs[0].line)
		}
		for k := range 2 {
			if f[k] == "" {
				return nil, fmt.Errorf("events: %s:%d: %s is empty", name, rec.line, fieldName(k))
			}
		}
		t, err := parseTime(f[2])
		if err != nil {
			return nil, fmt.Errorf("events: %s:%d: %s %q: %v", name, rec.line, fieldName(2), f[2], err)
		}
		src = append(src, f[0])
		dst = append(dst, f[1])
		times[i] = t
		for j := range s.FeatDim {
			v, err := strconv.ParseFloat(strings.TrimSpace(f[3+j]), 32)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, fmt.Errorf("events: %s:%d: %s %q: not a finite number", name, rec.line, fieldName(3+j), f[3+j])
			}
			s.Feat[i*s.FeatDim+j] = float32(v)
		}
	}

	// Stable chronological order.
	order := make([]int, n)
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int { return cmp.Compare(times[a], times[b]) })
	s.Time = make([]float64, n)
	srcID := make([]string, n)
	dstID := make([]string, n)
	for i, o := range order {
		s.Time[i] = times[o]
		srcID[i], dstID[i] = src[o], dst[o]
	}
	if s.FeatDim > 0 {
		feat := make([]float32, len(s.Feat))
		for i, o := range order {
			copy(feat[i*s.FeatDim:(i+1)*s.FeatDim], s.Feat[o*s.FeatDim:(o+1)*s.FeatDim])
		}
		s.Feat = feat
	}
	s.remap(srcID, dstID)
	return s, nil
}

// remap numbers the node ids: by integer value when all are integers,
// else by first appearance (src before dst) in the sorted stream.
func (s *Stream) remap(srcID, dstID []string) {
	n := len(srcID)
	s.Src = make([]int, n)
	s.Dst = make([]int, n)
	numeric := true
	vals := make(map[int64]string)
	for i := range n {
		for _, id := range [2]string{srcID[i], dstID[i]} {
			v, err := strconv.ParseInt(id, 10, 64)
			if err != nil {
				numeric = false
				break
			}
			if _, ok := vals[v]; !ok {
				vals[v] = id
			}
		}
		if !numeric {
			break
		}
	}
	if numeric {
		keys := make([]int64, 0, len(vals))
		for v := range vals {
			keys = append(keys, v)
		}
		slices.Sort(keys)
		index := make(map[int64]int, len(keys))
		s.IDs = make([]string, len(keys))
		for k, v := range keys {
			index[v] = k
			s.IDs[k] = vals[v]
		}
		for i := range n {
			a, _ := strconv.ParseInt(srcID[i], 10, 64)
			b, _ := strconv.ParseInt(dstID[i], 10, 64)
			s.Src[i], s.Dst[i] = index[a], index[b]
		}
		return
	}
	index := make(map[string]int)
	s.IDs = nil
	id := func(x string) int {
		k, ok := index[x]
		if !ok {
			k = len(s.IDs)
			index[x] = k
			s.IDs = append(s.IDs, x)
		}
		return k
	}
	for i := range n {
		s.Src[i] = id(srcID[i])
		s.Dst[i] = id(dstID[i])
	}
}

func parseTime(f string) (float64, error) {
	t, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
	if err != nil {
		return 0, errors.New("not a number")
	}
	if math.IsNaN(t) || math.IsInf(t, 0) {
		return 0, errors.New("not finite")
	}
	return t, nil
}

// lines calls fn with each line (1-based number, text without the line
// ending) until fn returns false.
func lines(raw []byte, fn func(line int, text string) bool) {
	for line := 1; len(raw) > 0; line++ {
		var l []byte
		if i := bytes.IndexByte(raw, '\n'); i >= 0 {
			l, raw = raw[:i], raw[i+1:]
		} else {
			l, raw = raw, nil
		}
		if !fn(line, string(bytes.TrimSuffix(l, []byte("\r")))) {
			return
		}
	}
}

func isComment(t string) bool {
	return strings.HasPrefix(t, "#") || strings.HasPrefix(t, "%")
}

func firstDataLine(raw []byte) (string, bool) {
	var first string
	var ok bool
	lines(raw, func(_ int, text string) bool {
		t := strings.TrimSpace(text)
		if t == "" || isComment(t) {
			return true
		}
		first, ok = t, true
		return false
	})
	return first, ok
}

func splitSNAP(raw []byte) []record {
	var recs []record
	lines(raw, func(line int, text string) bool {
		t := strings.TrimSpace(text)
		if t != "" && !isComment(t) {
			recs = append(recs, record{line, strings.Fields(t)})
		}
		return true
	})
	return recs
}

func splitCSV(raw []byte, name string) ([]record, error) {
	r := csv.NewReader(bytes.NewReader(raw))
	r.FieldsPerRecord = -1
	r.Comment = '#'
	r.TrimLeadingSpace = true
	var recs []record
	for {
		f, err := r.Read()
		if err == io.EOF {
			return recs, nil
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, fmt.Errorf("events: %s:%d: column %d: %v", name, pe.Line, pe.Column, pe.Err)
			}
			return nil, fmt.Errorf("events: %s: %w", name, err)
		}
		line, _ := r.FieldPos(0)
		for k := range f {
			f[k] = strings.TrimSpace(f[k])
		}
		recs = append(recs, record{line, f})
	}
}

// Split is a chronological train/validation/test split of a Stream.
type Split struct {
	// Train, Val and Test are event indices in chronological order.
	Train, Val, Test []int
	// ValTime and TestTime are the cut points: training events have
	// t ≤ ValTime, validation events ValTime < t ≤ TestTime, test events
	// t > TestTime.
	ValTime, TestTime float64
	// Seen[n] is true when node n is an endpoint of a training event.
	Seen []bool
	// Unseen lists, ascending, the nodes of validation or test events that
	// no training event touches: the new nodes of inductive evaluation.
	Unseen []int
	// Masked lists, ascending, the nodes MaskedSplit hid from training
	// (nil for ChronoSplit).
	Masked []int
}

// quantile is numpy's default (linear) quantile of sorted xs, computed
// the way numpy ≥ 1.22 does (index (n−1)·q, and its _lerp, which
// interpolates from the upper neighbour when the fraction is ≥ ½), so the
// cut points agree with numpy's to the bit.
func quantile(xs []float64, q float64) float64 {
	pos := float64(len(xs)-1) * q
	lo := int(math.Floor(pos))
	if lo >= len(xs)-1 {
		return xs[len(xs)-1]
	}
	t := pos - float64(lo)
	a, b := xs[lo], xs[lo+1]
	d := b - a
	if t >= 0.5 {
		return b - d*(1-t)
	}
	return a + d*t
}

// ChronoSplit splits the stream by time as TGN and DyGLib do: the cut
// points are the (1−val−test) and (1−test) quantiles of the timestamps
// (numpy's linear interpolation), so ChronoSplit(0.15, 0.15) is the usual
// 70/15/15 split; events with equal timestamps never straddle a cut.
func (s *Stream) ChronoSplit(val, test float64) (*Split, error) {
	return s.split(val, test, 0, 0)
}

// MaskedSplit is ChronoSplit with TGN's and DyGLib's inductive protocol: a
// random mask·NumNodes() (rounded down) of the nodes that occur after
// ValTime are hidden from training — every training-period event touching
// one is dropped from Train — so that validation and test have new nodes
// even when every node appears early. The choice is seeded (PCG).
// DyGLib's default is mask = 0.1.
func (s *Stream) MaskedSplit(val, test, mask float64, seed uint64) (*Split, error) {
	if !(mask >= 0 && mask < 1) {
		return nil, fmt.Errorf("events: %s: mask fraction %v outside [0, 1)", s.Name, mask)
	}
	return s.split(val, test, mask, seed)
}

func (s *Stream) split(val, test, mask float64, seed uint64) (*Split, error) {
	if !(val >= 0 && test >= 0 && val+test < 1) {
		return nil, fmt.Errorf("events: %s: split fractions val %v, test %v: want non-negative with val+test < 1", s.Name, val, test)
	}
	if s.Len() == 0 {
		return nil, fmt.Errorf("events: %s: no events to split", s.Name)
	}
	if !s.Sorted() {
		return nil, fmt.Errorf("events: %s: timestamps are not sorted", s.Name)
	}
	sp := &Split{
		ValTime:  quantile(s.Time, 1-val-test),
		TestTime: quantile(s.Time, 1-test),
	}
	var hidden map[int]bool
	if mask > 0 {
		after := make(map[int]bool)
		for i, t := range s.Time {
			if t > sp.ValTime {
				after[s.Src[i]] = true
				after[s.Dst[i]] = true
			}
		}
		cands := make([]int, 0, len(after))
		for v := range after {
			cands = append(cands, v)
		}
		slices.Sort(cands)
		k := min(int(mask*float64(s.NumNodes())), len(cands))
		rng := rand.New(rand.NewPCG(seed, 0x65766e7473)) // "evnts"
		rng.Shuffle(len(cands), func(i, j int) { cands[i], cands[j] = cands[j], cands[i] })
		sp.Masked = slices.Clone(cands[:k])
		slices.Sort(sp.Masked)
		hidden = make(map[int]bool, k)
		for _, v := range sp.Masked {
			hidden[v] = true
		}
	}
	sp.Seen = make([]bool, s.NumNodes())
	for i, t := range s.Time {
		switch {
		case t <= sp.ValTime:
			if hidden[s.Src[i]] || hidden[s.Dst[i]] {
				continue
			}
			sp.Train = append(sp.Train, i)
			sp.Seen[s.Src[i]] = true
			sp.Seen[s.Dst[i]] = true
		case t <= sp.TestTime:
			sp.Val = append(sp.Val, i)
		default:
			sp.Test = append(sp.Test, i)
		}
	}
	unseen := make(map[int]bool)
	for _, part := range [][]int{sp.Val, sp.Test} {
		for _, i := range part {
			for _, v := range [2]int{s.Src[i], s.Dst[i]} {
				if !sp.Seen[v] {
					unseen[v] = true
				}
			}
		}
	}
	for v := range unseen {
		sp.Unseen = append(sp.Unseen, v)
	}
	slices.Sort(sp.Unseen)
	return sp, nil
}

// Inductive returns the events of idx (e.g. sp.Test) with at least one
// endpoint that no training event touches, in the order of idx.
func (sp *Split) Inductive(s *Stream, idx []int) []int {
	var out []int
	for _, i := range idx {
		if !sp.Seen[s.Src[i]] || !sp.Seen[s.Dst[i]] {
			out = append(out, i)
		}
	}
	return out
}
