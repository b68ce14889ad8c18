// Package collegemsg reads SNAP's CollegeMsg temporal network: 59,835
// private messages among 1,899 users of an online community of students at
// the University of California, Irvine, over 193 days of 2004 (Panzarasa,
// Opsahl and Carley 2009). The file is not shipped with loom: Open finds
// CollegeMsg.txt.gz (or CollegeMsg.txt) in the external data set
// "collegemsg" (package external: $LOOM_DATA/collegemsg or the project's
// shared data). README.md gives its origin, checksums and terms of use.
//
//	s, err := collegemsg.Open()        // *events.Stream, 1,899 nodes
//	sp, err := s.ChronoSplit(0.15, 0.15) // 70/15/15 by time
package collegemsg

import (
	"path/filepath"

	"github.com/loomml/loom/data/events"
	"github.com/loomml/loom/data/external"
)

// Counts of the stream.
const (
	Events = 59835
	Nodes  = 1899
)

// Origin says where the file comes from.
const Origin = "SNAP's CollegeMsg temporal network (snap.stanford.edu/data/CollegeMsg.html: CollegeMsg.txt.gz, 59,835 lines \"src dst unixtime\"); README.md in loom's data/events/collegemsg gives the checksums"

// Path returns the stream's file: CollegeMsg.txt.gz, else CollegeMsg.txt,
// in the external data set "collegemsg".
func Path() (string, error) {
	dir, err := external.Find(external.Set{Name: "collegemsg", Files: []string{"CollegeMsg.txt.gz"}, Origin: Origin})
	if err == nil {
		return filepath.Join(dir, "CollegeMsg.txt.gz"), nil
	}
	if d, err2 := external.Find(external.Set{Name: "collegemsg", Files: []string{"CollegeMsg.txt"}, Origin: Origin}); err2 == nil {
		return filepath.Join(d, "CollegeMsg.txt"), nil
	}
	return "", err
}

// Open parses the file into a fresh stream. Node n is SNAP's user id n+1
// (the ids are 1..1899); timestamps are Unix seconds, already in
// non-decreasing order in the file.
func Open() (*events.Stream, error) {
	path, err := Path()
	if err != nil {
		return nil, err
	}
	return events.ReadFileWith(path, events.Options{Format: events.FormatSNAP, Header: events.HeaderNo})
}
