// Package gguf reads and writes GGUF files, the single-file model format of
// ggml and llama.cpp, as specified in
// https://github.com/ggml-org/ggml/blob/master/docs/gguf.md.
//
// # File layout
//
// Every number is little-endian. A GGUF file holds, in order:
//
//  1. The header: the magic "GGUF" (bytes 47 47 55 46), the version as a
//     uint32, the tensor count and the metadata key-value count as uint64s.
//  2. The metadata: for each pair, the key as a string, the value type as a
//     uint32 ([ValueType]) and the value. A string is a uint64 byte count
//     followed by the bytes (UTF-8, no terminating NUL); an array is the
//     element type (uint32), the element count (uint64) and the elements,
//     which may themselves be arrays; the other values have their natural
//     sizes (a BOOL is one byte, 0 or 1).
//  3. The tensor infos: for each tensor, its name as a string, the number
//     of dimensions n_dims (uint32, 1 to 4), the n_dims dimensions as
//     uint64s, innermost first (ggml's ne[0], ne[1], ...), the ggml type
//     ([Type]) as a uint32, and the offset of its bytes as a uint64,
//     relative to the start of the tensor data section.
//  4. Zero padding to the alignment: the value of the "general.alignment"
//     key (a UINT32) or 32.
//  5. The tensor data section. Each tensor's offset is a multiple of the
//     alignment; writers pad every tensor with zeros to the alignment.
//
// Versions 2 and 3 have this layout; version 3 only added big-endian files,
// which carry no marker other than their byte order and which this package
// does not read (it recognizes their byte-swapped version number and says
// so). Version 1, which used 32-bit counts, is rejected.
//
// # Shapes
//
// GGUF, like ggml, lists dimensions innermost first. [TensorInfo].Shape and
// [Writer.AddTensor] use the row-major order of PyTorch and the rest of
// loom, outermost first: the reverse. A [rows, cols] weight matrix is
// stored with ne[0] = cols. Quantized types pack runs of elements along the
// innermost dimension into blocks ([Type.BlockSize] elements in
// [Type.TypeSize] bytes), so that dimension must be a multiple of the block
// size.
//
// # Validation
//
// [Open] and [Parse] check the whole file before returning, and never
// allocate more than the file's size can justify: every count and length is
// checked against the bytes that remain before anything is allocated for
// it. They check the magic; the version (2 or 3); the key-value and tensor
// counts; every string length; that keys are non-empty, at most 65535 bytes
// and unique; that value types and array element types are known and
// arrays nest at most [MaxArrayDepth] deep; that BOOL values are 0 or 1;
// that general.alignment, if present, is a UINT32 power of two; that tensor
// names are at most 64 bytes and unique; that each tensor has 1 to 4
// dimensions, each at least 1, whose product fits in an int64; that its
// type is a ggml type still supported; that its innermost dimension is a
// multiple of the type's block size; that its offset is a multiple of the
// alignment; that its bytes lie inside the file; and that no two tensors
// share bytes. Every error is an [*Error] that names the file, and the key
// or tensor when there is one, and says what was found and what was
// expected.
//
// The reference reader (ggml's gguf.cpp) differs in a few ways, all noted
// here. It rejects arrays of arrays, which the specification allows and
// this package reads; it requires the tensors to be packed in order (each
// offset the previous one plus its size padded to the alignment), where
// this package accepts any non-overlapping placement; it allows names of at
// most 63 bytes, one less than the specification; and it accepts tensors
// with 0 dimensions and any BOOL byte. Keys are not checked against the
// specification's naming rules (ASCII, lower_snake_case segments separated
// by dots), which neither the reference reader nor writer enforces.
//
// # Reading
//
// On Unix systems [Open] memory-maps the file read-only, so opening a large
// model is cheap and tensors are paged in only when read; elsewhere it
// reads the whole file. The metadata is decoded up front into Go values
// (see [KV] for the Go type of each value type) and stays readable after
// [File.Close]. [File.String], [File.Uint], [File.Float] and
// [File.Strings] fetch typed values with errors that say what was found;
// [File.TensorBytes] returns a tensor's bytes from the mapping, and
// [File.Float32s] decodes F32, F16, BF16 and Q8_0 tensors.
//
// # Writing
//
// A [Writer] collects metadata ([Writer.Add]) and tensors
// ([Writer.AddTensor]), checking each as it is added, and writes a
// version 3 file in the order they were added: [Writer.WriteTo] to any
// io.Writer and [Writer.WriteFile] atomically to a path (temporary file,
// fsync, rename). Tensors are laid out in order, each at the next multiple
// of the alignment and padded with zeros to it, as ggml and gguf-py write
// them, so the output is deterministic and readable by both (for the same
// keys and tensors it is byte for byte what ggml's gguf_write_to_file
// writes). A file without tensors has no data section and ends after the
// metadata, without padding.
//
// # Q8_0
//
// [QuantizeQ8_0] quantizes float32 values to Q8_0 bit-exactly as ggml's
// reference quantizer does, and [DequantizeQ8_0] expands them again. A
// block of 32 values is stored as a float16 scale d = max|x|/127 followed
// by 32 int8 values round(x/d); dequantizing gives back each x to within
// d/2 plus the error of rounding d to float16.
package gguf
