// Package labeled reads classification data: items (texts or sound files)
// with one class label each, the input of `loom finetune --task classify`.
//
// Two layouts are read, and [Read] picks by the path:
//
//   - a CSV file (.csv, or .csv.gz read through gzip) with a header row
//     naming a "text" and a "label" column, in any order among other
//     columns, which are ignored ([ReadCSV]); quoting is RFC 4180's, so a
//     text may hold commas, quotes and newlines;
//   - a directory with one sub-directory per class, each holding .wav files
//     ([ReadFolders]), as torchvision's ImageFolder and the Speech Commands
//     layout have them. The files are listed, not decoded (package audio
//     decodes them).
//
// Either way the result is a [Set]: the items, a label per item indexing
// the sorted class names (numerically sorted when every class name is an
// integer), and where it came from. [Set.Split] holds out a fraction of
// every class, deterministically for a seed, and [Set.Counts] counts the
// items of each class.
//
// Bad input is reported, never skipped: a missing column, a row with the
// wrong number of fields, an empty label or text, a class folder without
// WAV files, or fewer than two classes is an error naming the file (and
// the line, for a CSV row) and what was expected.
//
//	set, err := labeled.Read("data/spam/train.csv.gz")
//	if err != nil {
//		return err
//	}
//	train, val := set.Split(0.1, 1) // 10% of each class held out
//	fmt.Println(set.Classes, set.Counts()) // [ham spam] [2750 500]
package labeled
