// Package collegemsg embeds SNAP's CollegeMsg temporal network: 59,835
// private messages among 1,899 users of an online community of students at
// the University of California, Irvine, over 193 days of 2004 (Panzarasa,
// Opsahl and Carley 2009). README.md gives its origin, the repository it
// was taken from, its checksums and the terms of use.
//
//	s, err := collegemsg.Open()        // *events.Stream, 1,899 nodes
//	sp, err := s.ChronoSplit(0.15, 0.15) // 70/15/15 by time
package collegemsg

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"

	"github.com/loomml/loom/data/events"
)

//go:embed CollegeMsg.txt.gz
var raw []byte

// Counts of the embedded stream.
const (
	Events = 59835
	Nodes  = 1899
)

// Gzipped returns the embedded CollegeMsg.txt.gz (SNAP's file, unmodified
// once decompressed).
func Gzipped() []byte { return raw }

// Open parses the embedded file into a fresh stream. Node n is SNAP's user
// id n+1 (the ids are 1..1899); timestamps are Unix seconds, already in
// non-decreasing order in the file.
func Open() (*events.Stream, error) {
	zr, err := gzip.NewReader(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("collegemsg: %w", err)
	}
	defer zr.Close()
	return events.Read(zr, "CollegeMsg.txt", events.Options{Format: events.FormatSNAP, Header: events.HeaderNo})
}
