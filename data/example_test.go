package data_test

import (
	"fmt"
	"os"

	"github.com/loomml/loom/data"
	"github.com/loomml/loom/tokenizer"
)

func Example() {
	dir, err := os.MkdirTemp("", "loom-data-example")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)

	text := data.TinyShakespeare()[:10000]
	trainPath, valPath, err := data.Prepare(text, tokenizer.Byte{}, 0.1, dir)
	if err != nil {
		panic(err)
	}
	train, err := data.OpenShard(trainPath)
	if err != nil {
		panic(err)
	}
	defer train.Close()
	fmt.Println("train:", train.Len(), "tokens of", train.Tokenizer())

	sampler, err := data.NewSampler(train, 4, 32, 1337)
	if err != nil {
		panic(err)
	}
	b := sampler.Next()
	fmt.Println("batch:", len(b.IDs), "inputs,", len(b.Targets), "targets")

	val, err := data.OpenShard(valPath)
	if err != nil {
		panic(err)
	}
	defer val.Close()
	windows, err := data.Windows(val, 256, 128)
	if err != nil {
		panic(err)
	}
	scored := 0
	for w := range windows {
		scored += len(w.Y) - w.ScoreFrom
	}
	fmt.Println("val:", val.Len(), "tokens,", scored, "targets scored")
	// Output:
	// train: 9000 tokens of byte
	// batch: 128 inputs, 128 targets
	// val: 1000 tokens, 999 targets scored
}
