package tokenizer

import (
	"encoding/binary"
	"fmt"
	"math"
)

// pbReader reads the protocol-buffer wire format (varints, 64-bit, length-
// delimited and 32-bit fields) of one message. It is a small hand-written
// reader for the few fields of sentencepiece's ModelProto
// (src/sentencepiece_model.proto) loom needs, so that the module needs no
// protobuf dependency or generated code. path names the message in errors
// ("ModelProto.pieces[3]").
type pbReader struct {
	b    []byte
	file string
	path string
}

// Wire types of the protobuf encoding.
const (
	wireVarint = 0
	wireI64    = 1
	wireLen    = 2
	wireI32    = 5
)

var wireNames = map[int]string{wireVarint: "varint", wireI64: "64-bit", wireLen: "length-delimited", wireI32: "32-bit"}

func (r *pbReader) errf(field, format string, args ...any) error {
	return fmt.Errorf("tokenizer: %s: %s.%s: %s", r.file, r.path, field, fmt.Sprintf(format, args...))
}

func (r *pbReader) varint(field string) (uint64, error) {
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		return 0, r.errf(field, "truncated or overlong varint")
	}
	r.b = r.b[n:]
	return v, nil
}

// field is one field of a message: its number, wire type and value (num
// for varint and fixed-width fields, data for length-delimited ones).
type pbField struct {
	num  int
	wire int
	num0 uint64
	data []byte
}

// next reads the next field; ok is false at the end of the message.
func (r *pbReader) next() (f pbField, ok bool, err error) {
	if len(r.b) == 0 {
		return f, false, nil
	}
	key, err := r.varint("(field key)")
	if err != nil {
		return f, false, err
	}
	f.num, f.wire = int(key>>3), int(key&7)
	if f.num == 0 {
		return f, false, r.errf("(field key)", "field number 0")
	}
	name := fmt.Sprintf("(field %d)", f.num)
	switch f.wire {
	case wireVarint:
		f.num0, err = r.varint(name)
	case wireI64:
		if len(r.b) < 8 {
			return f, false, r.errf(name, "truncated 64-bit value")
		}
		f.num0, r.b = binary.LittleEndian.Uint64(r.b), r.b[8:]
	case wireI32:
		if len(r.b) < 4 {
			return f, false, r.errf(name, "truncated 32-bit value")
		}
		f.num0, r.b = uint64(binary.LittleEndian.Uint32(r.b)), r.b[4:]
	case wireLen:
		var n uint64
		if n, err = r.varint(name); err != nil {
			return f, false, err
		}
		if n > uint64(len(r.b)) {
			return f, false, r.errf(name, "length %d runs past the end (%d bytes left): the file is truncated", n, len(r.b))
		}
		f.data, r.b = r.b[:n], r.b[n:]
	default:
		return f, false, r.errf(name, "wire type %d is not valid", f.wire)
	}
	return f, err == nil, err
}

// want checks f's wire type against the one field name needs.
func (r *pbReader) want(f pbField, name string, wire int) error {
	if f.wire != wire {
		return r.errf(name, "wire type %s, want %s", wireNames[f.wire], wireNames[wire])
	}
	return nil
}

func (r *pbReader) boolField(f pbField, name string, dst *bool) error {
	if err := r.want(f, name, wireVarint); err != nil {
		return err
	}
	*dst = f.num0 != 0
	return nil
}

// int32Field reads an int32 (negative values are 10-byte varints).
func (r *pbReader) int32Field(f pbField, name string, dst *int) error {
	if err := r.want(f, name, wireVarint); err != nil {
		return err
	}
	*dst = int(int32(f.num0))
	return nil
}

func (r *pbReader) floatField(f pbField, name string, dst *float32) error {
	if err := r.want(f, name, wireI32); err != nil {
		return err
	}
	*dst = math.Float32frombits(uint32(f.num0))
	return nil
}

func (r *pbReader) bytesField(f pbField, name string, dst *[]byte) error {
	if err := r.want(f, name, wireLen); err != nil {
		return err
	}
	*dst = f.data
	return nil
}

// spmModelProto holds the fields of sentencepiece's ModelProto that
// encoding and decoding depend on.
type spmModelProto struct {
	pieces []spmPiece
	// TrainerSpec
	modelType       int // 1 UNIGRAM (default), 2 BPE, 3 WORD, 4 CHAR
	byteFallback    bool
	treatWSAsSuffix bool
	unkSurface      string
	unk, bos, eos   int
	pad             int
	trainerPresent  bool
	normalizerName  string
	charsmap        []byte
	addDummyPrefix  bool
	removeExtraWS   bool
	escapeWS        bool
	ruleTSV         []byte
	denormCharsmap  []byte
	denormRuleTSV   []byte
}

type spmPiece struct {
	piece string
	score float32
	typ   int32
}

// parseModelProto reads a serialised sentencepiece ModelProto. Field
// numbers follow sentencepiece_model.proto: ModelProto {pieces 1,
// trainer_spec 2, normalizer_spec 3, self_test_data 4, denormalizer_spec 5},
// SentencePiece {piece 1, score 2, type 3}, TrainerSpec {model_type 3,
// treat_whitespace_as_suffix 24, byte_fallback 35, unk_id 40, bos_id 41,
// eos_id 42, pad_id 43, unk_surface 44}, NormalizerSpec {name 1,
// precompiled_charsmap 2, add_dummy_prefix 3, remove_extra_whitespaces 4,
// escape_whitespaces 5, normalization_rule_tsv 6}. Other fields are
// skipped, as protobuf readers do.
func parseModelProto(file string, data []byte) (*spmModelProto, error) {
	m := &spmModelProto{modelType: 1, unk: 0, bos: 1, eos: 2, pad: -1, unkSurface: " \u2047 ",
		addDummyPrefix: true, removeExtraWS: true, escapeWS: true}
	r := &pbReader{b: data, file: file, path: "ModelProto"}
	for {
		f, ok, err := r.next()
		if err != nil {
			return nil, err
		}
		if !ok {
			break
		}
		switch f.num {
		case 1:
			name := fmt.Sprintf("pieces[%d]", len(m.pieces))
			if err := r.want(f, name, wireLen); err != nil {
				return nil, err
			}
			p, err := parsePiece(&pbReader{b: f.data, file: file, path: "ModelProto." + name})
			if err != nil {
				return nil, err
			}
			m.pieces = append(m.pieces, p)
		case 2:
			if err := r.want(f, "trainer_spec", wireLen); err != nil {
				return nil, err
			}
			m.trainerPresent = true
			if err := m.parseTrainer(&pbReader{b: f.data, file: file, path: "ModelProto.trainer_spec"}); err != nil {
				return nil, err
			}
		case 3, 5:
			name := map[int]string{3: "normalizer_spec", 5: "denormalizer_spec"}[f.num]
			if err := r.want(f, name, wireLen); err != nil {
				return nil, err
			}
			if err := m.parseNormalizer(&pbReader{b: f.data, file: file, path: "ModelProto." + name}, f.num == 5); err != nil {
				return nil, err
			}
		}
	}
	if len(m.pieces) == 0 {
		return nil, fmt.Errorf("tokenizer: %s: ModelProto.pieces is empty: not a SentencePiece model", file)
	}
	return m, nil
}

func parsePiece(r *pbReader) (spmPiece, error) {
	p := spmPiece{typ: TokenNormal}
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return p, err
		}
		switch f.num {
		case 1:
			var b []byte
			if err := r.bytesField(f, "piece", &b); err != nil {
				return p, err
			}
			p.piece = string(b)
		case 2:
			if err := r.floatField(f, "score", &p.score); err != nil {
				return p, err
			}
		case 3:
			var t int
			if err := r.int32Field(f, "type", &t); err != nil {
				return p, err
			}
			if t < TokenNormal || t > TokenByte {
				return p, r.errf("type", "%d is not a piece type (want 1 NORMAL … 6 BYTE)", t)
			}
			p.typ = int32(t)
		}
	}
}

func (m *spmModelProto) parseTrainer(r *pbReader) error {
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		switch f.num {
		case 3:
			err = r.int32Field(f, "model_type", &m.modelType)
		case 24:
			err = r.boolField(f, "treat_whitespace_as_suffix", &m.treatWSAsSuffix)
		case 35:
			err = r.boolField(f, "byte_fallback", &m.byteFallback)
		case 40:
			err = r.int32Field(f, "unk_id", &m.unk)
		case 41:
			err = r.int32Field(f, "bos_id", &m.bos)
		case 42:
			err = r.int32Field(f, "eos_id", &m.eos)
		case 43:
			err = r.int32Field(f, "pad_id", &m.pad)
		case 44:
			var b []byte
			err = r.bytesField(f, "unk_surface", &b)
			m.unkSurface = string(b)
		}
		if err != nil {
			return err
		}
	}
}

func (m *spmModelProto) parseNormalizer(r *pbReader, denorm bool) error {
	for {
		f, ok, err := r.next()
		if err != nil || !ok {
			return err
		}
		if denorm {
			switch f.num {
			case 2:
				err = r.bytesField(f, "precompiled_charsmap", &m.denormCharsmap)
			case 6:
				err = r.bytesField(f, "normalization_rule_tsv", &m.denormRuleTSV)
			}
			if err != nil {
				return err
			}
			continue
		}
		switch f.num {
		case 1:
			var b []byte
			err = r.bytesField(f, "name", &b)
			m.normalizerName = string(b)
		case 2:
			err = r.bytesField(f, "precompiled_charsmap", &m.charsmap)
		case 3:
			err = r.boolField(f, "add_dummy_prefix", &m.addDummyPrefix)
		case 4:
			err = r.boolField(f, "remove_extra_whitespaces", &m.removeExtraWS)
		case 5:
			err = r.boolField(f, "escape_whitespaces", &m.escapeWS)
		case 6:
			err = r.bytesField(f, "normalization_rule_tsv", &m.ruleTSV)
		}
		if err != nil {
			return err
		}
	}
}
