package gguf

import "fmt"

// Error is the error returned for a malformed file, for a metadata value or
// tensor that cannot be read as asked, and for invalid input to the Writer.
type Error struct {
	File   string // the path given to Open or the name given to Parse; "" for the Writer
	Key    string // the metadata key concerned, if any
	Tensor string // the tensor concerned, if any
	Msg    string // what is wrong and what was expected

	hasKey, hasTensor bool // the error is about a key or tensor, even one named ""
}

// Error formats the error as `gguf: FILE: key "KEY": MESSAGE` or
// `gguf: FILE: tensor "NAME": MESSAGE`, leaving out the parts that are
// empty.
func (e *Error) Error() string {
	s := "gguf: "
	if e.File != "" {
		s += e.File + ": "
	}
	if e.Key != "" || e.hasKey {
		s += fmt.Sprintf("key %q: ", e.Key)
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

// keyErr returns an *Error about one metadata key.
func keyErr(file, key, format string, args ...any) *Error {
	return &Error{File: file, Key: key, Msg: fmt.Sprintf(format, args...), hasKey: true}
}

// tensorErr returns an *Error about one tensor.
func tensorErr(file, tensor, format string, args ...any) *Error {
	return &Error{File: file, Tensor: tensor, Msg: fmt.Sprintf(format, args...), hasTensor: true}
}
