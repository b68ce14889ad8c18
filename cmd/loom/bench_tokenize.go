package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"time"

	tiktoken "github.com/pkoukk/tiktoken-go"
	tiktokenloader "github.com/pkoukk/tiktoken-go-loader"

	"github.com/loomml/loom/tokenizer"
)

type tokenizeBench struct {
	Encoding       string  `json:"encoding"`
	Corpus         string  `json:"corpus"`
	Bytes          int     `json:"bytes"`
	Tokens         int     `json:"tokens"`
	LoomMBs        float64 `json:"loom_mb_s"`
	LoomColdMBs    float64 `json:"loom_cold_mb_s"` // with the word cache emptied before every run
	TiktokenGoMBs  float64 `json:"tiktoken_go_mb_s"`
	Ratio          float64 `json:"ratio"`
	IdenticalIDs   bool    `json:"identical_ids"`
	Repetitions    int     `json:"repetitions"`
	TiktokenGoNote string  `json:"tiktoken_go,omitempty"`
}

// benchTokenize times single-threaded encoding of a corpus with loom's
// tiktoken encoding and with github.com/pkoukk/tiktoken-go (offline rank
// files), in the same run, and checks that they agree.
func benchTokenize(args []string, stdout, stderr io.Writer) error {
	fs := newFlagsSummary("bench tokenize", "[--json] [--encoding cl100k_base] [--corpus DIR|FILE] [--min-time 2s]", benchSummary("tokenize"), stderr)
	asJSON := fs.Bool("json", false, "print JSON")
	encName := fs.String("encoding", "cl100k_base", "tiktoken encoding: r50k_base, p50k_base, cl100k_base, o200k_base")
	corpus := fs.String("corpus", "", "a text file or a directory of .txt files (default: the tokenizer test corpus, embedded)")
	minTime := durationFlag(fs, "min-time", 2*time.Second, "time each encoder at least this long", above(0))
	if err := parse(fs, args); err != nil {
		return err
	}
	text, corpusName := string(tokenizer.SampleCorpus()), "tokenizer test corpus (embedded)"
	if *corpus != "" {
		var err error
		if text, err = readTextCorpus(*corpus); err != nil {
			return err
		}
		corpusName = *corpus
	}
	setThreads(1)
	ours, err := tokenizer.Load(*encName, "")
	if err != nil {
		return err
	}
	tiktoken.SetBpeLoader(tiktokenloader.NewOfflineLoader())
	ref, err := tiktoken.GetEncoding(*encName)
	if err != nil {
		return fmt.Errorf("tiktoken-go: %w", err)
	}
	a, b := ours.Encode(text), ref.EncodeOrdinary(text)
	same := len(a) == len(b)
	for i := 0; same && i < len(a); i++ {
		same = a[i] == b[i]
	}
	res := tokenizeBench{Encoding: *encName, Corpus: corpusName, Bytes: len(text), Tokens: len(a), IdenticalIDs: same}
	var reps int
	res.LoomMBs, reps = throughput(len(text), *minTime, func() { ours.Encode(text) })
	if bpe, ok := ours.(*tokenizer.BPE); ok {
		res.LoomColdMBs, _ = throughput(len(text), *minTime, func() { bpe.ResetCache(); bpe.Encode(text) })
	}
	res.TiktokenGoMBs, _ = throughput(len(text), *minTime, func() { ref.EncodeOrdinary(text) })
	res.Repetitions = reps
	res.Ratio = res.LoomMBs / res.TiktokenGoMBs
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(res)
	}
	fmt.Fprintf(stdout, "%s on %s (%d bytes, %d tokens, ids identical: %v): loom %.2f MB/s (%.2f with an empty word cache), tiktoken-go %.2f MB/s, ratio %.2f\n",
		res.Encoding, res.Corpus, res.Bytes, res.Tokens, res.IdenticalIDs, res.LoomMBs, res.LoomColdMBs, res.TiktokenGoMBs, res.Ratio)
	return nil
}

// throughput returns the median MB/s of f over at least minTime (at least
// 3 runs), after one warm-up run.
func throughput(n int, minTime time.Duration, f func()) (float64, int) {
	f()
	var ts []float64
	var total time.Duration
	for len(ts) < 3 || total < minTime {
		t := time.Now()
		f()
		d := time.Since(t)
		total += d
		ts = append(ts, float64(n)/1e6/d.Seconds())
	}
	sort.Float64s(ts)
	return ts[len(ts)/2], len(ts)
}

// readTextCorpus reads a file, or the .txt files of a directory in name
// order, concatenated.
func readTextCorpus(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if !st.IsDir() {
		b, err := os.ReadFile(path)
		return string(b), err
	}
	files, err := filepath.Glob(filepath.Join(path, "*.txt"))
	if err != nil || len(files) == 0 {
		return "", fmt.Errorf("%s: no .txt files", path)
	}
	sort.Strings(files)
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return "", err
		}
		all = append(all, b...)
	}
	return string(all), nil
}
