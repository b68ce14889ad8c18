package tokenizer_test

import (
	"fmt"

	"github.com/loomml/loom/tokenizer"
)

func Example() {
	tok, err := tokenizer.New("byte")
	if err != nil {
		panic(err)
	}
	ids := tok.Encode("héllo")
	fmt.Println(ids, tok.Decode(ids))
	// Output: [104 195 169 108 108 111] héllo
}

func ExampleDecodeStream() {
	tok := tokenizer.Byte{}
	ds := tokenizer.NewDecodeStream(tok)
	for _, id := range tok.Encode("a🙂") {
		fmt.Printf("%q ", ds.Add(id))
	}
	fmt.Printf("%q\n", ds.Flush())
	// Output: "a" "" "" "" "🙂" ""
}
