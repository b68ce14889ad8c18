package safetensors

import "fmt"

// Error is the error returned for a malformed file, for a tensor that cannot
// be converted as asked, and for invalid tensors given to the writer.
type Error struct {
	File   string // the path or name of the file, or "" when there is none (Encode)
	Tensor string // the tensor concerned, or "" when the problem is not about one tensor
	Msg    string // what is wrong and what was expected

	hasTensor bool // the error is about a tensor, even one named ""
}

// Error formats the error as
// `safetensors: FILE: tensor "NAME": MESSAGE`, leaving out the parts that are
// empty.
func (e *Error) Error() string {
	s := "safetensors: "
	if e.File != "" {
		s += e.File + ": "
	}
	if e.Tensor != "" || e.hasTensor {
		s += fmt.Sprintf("tensor %q: ", e.Tensor)
	}
	return s + e.Msg
}

// fileErr returns an *Error about the file as a whole.
func fileErr(file, format string, args ...any) *Error {
	return &Error{File: file, Msg: fmt.Sprintf(format, args...)}
}

// tensorErr returns an *Error about one tensor.
func tensorErr(file, tensor, format string, args ...any) *Error {
	return &Error{File: file, Tensor: tensor, Msg: fmt.Sprintf(format, args...), hasTensor: true}
}
