// Package safetensors reads and writes the safetensors tensor file format,
// which is loom's checkpoint format and the format of its test fixtures.
//
// # File layout
//
// A safetensors file has three parts:
//
//  1. 8 bytes: N, an unsigned little-endian 64-bit integer, the size of the
//     header in bytes.
//  2. N bytes: the header, a UTF-8 JSON object. It must start with '{' and may
//     be padded at the end with spaces (writers pad it so that the data buffer
//     starts at a file offset that is a multiple of 8).
//  3. The rest of the file: the data buffer, holding the raw bytes of every
//     tensor.
//
// The header maps each tensor name to an entry such as
//
//	"wte": {"dtype": "F32", "shape": [50257, 768], "data_offsets": [0, 154389504]}
//
// where data_offsets = [begin, end] is the half-open byte range of the tensor
// inside the data buffer (not the file). Elements are stored little-endian in
// row-major (C) order; a scalar has shape [] and one element, and a tensor
// with a zero dimension has no bytes (begin == end). The optional special key
// "__metadata__" maps to an object of free-form string-to-string metadata
// (PyTorch writes {"format": "pt"}); no tensor may be called "__metadata__".
//
// # Validation
//
// [Open] and [Parse] check the whole header before returning, following the
// rules of the reference implementation (huggingface/safetensors): the header
// length is at most [MaxHeaderSize] and fits in the file; the header is valid
// UTF-8 JSON starting with '{'; names are unique (duplicates are detected,
// not silently dropped as a JSON decoder into a map would do); every entry
// has a known dtype, a shape of non-negative integers whose element count
// does not overflow, and data_offsets whose length equals the element count
// times the dtype size; and the tensors, sorted by offset, tile the data
// buffer exactly, from 0 to its end, with no gaps and no overlaps. Fields
// other than dtype, shape and data_offsets in a tensor entry are ignored, as
// the reference implementation does. Every error is an [*Error] that names
// the file, and the tensor when there is one, and says what was expected.
//
// # Reading
//
// On Unix systems [Open] memory-maps the file read-only, so opening a large
// checkpoint is cheap and tensors are only paged in when read; elsewhere it
// reads the whole file into memory. [File.Float32], [File.Float64] and
// [File.Int64] decode a tensor into a new Go slice, converting from narrower
// or wider dtypes where that makes sense; [File.Bytes] returns a copy of the
// raw bytes and [File.View] the mapped bytes themselves.
//
// # Writing
//
// [Write] writes a file atomically (temporary file in the same directory,
// fsync, rename), and [Encode] writes the same bytes to any io.Writer. Tensors
// are laid out in the order given, the header lists them in that order after
// the metadata (whose keys are sorted), and the header is padded with spaces
// to a multiple of 8 bytes, as the reference writer does; the output is
// therefore deterministic. [FromFloat32], [FromFloat64] and [FromInt64] build
// a [Tensor] from Go slices, rounding to nearest-even when narrowing floats.
package safetensors
