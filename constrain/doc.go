// Package constrain enforces OpenAI's response_format during decoding: a
// request's {"type":"json_object"} or {"type":"json_schema", …} is compiled
// to a pushdown automaton over bytes, and each decode step masks the
// vocabulary to the tokens whose bytes keep the output a prefix of a JSON
// text the format accepts. The reply then always parses, and validates
// against the schema.
//
// # What is accepted
//
// json_object accepts any JSON object. json_schema accepts the subset of
// JSON Schema below; any other keyword is an error naming it and where it
// is (the server answers 400 with that message):
//
//   - type: "object", "array", "string", "number", "integer", "boolean",
//     "null", or an array of them. A schema without type is inferred from
//     its keywords (properties → object, items → array, minLength →
//     string); with none it accepts any JSON value, as {} and true do.
//   - properties, required, additionalProperties (false, true or a schema).
//     Properties are emitted in the schema's order; required ones always
//     appear, optional ones may be skipped. Keys that properties does not
//     declare are never emitted (an additionalProperties schema alone, with
//     no properties, gives a map: any keys, values of that schema).
//   - items (a schema), minItems, maxItems.
//   - minLength, maxLength (counted in code points, as JSON Schema counts).
//   - pattern: a regular expression in the common subset of ECMA-262 and
//     Go's RE2 syntax, matched as JSON Schema matches it (a search: anchored
//     only where it starts with ^ or ends with $), compiled to a DFA over
//     code points (at most 2,000 states). Not supported: ^ or $ inside the
//     expression, \b and \B, lookaround and backreferences, (?i). The
//     string never takes a byte (a UTF-8 lead, a \u digit) that no code
//     point could complete; with maxLength as well, the length is not
//     planned for, so a pattern that needs more characters than are left
//     is a dead end (see below).
//   - enum and const (the values are emitted as given, compact, filtered by
//     type when type is also given).
//   - anyOf; oneOf only when its branches start with different bytes (so at
//     most one can match); allOf with a single schema.
//   - $ref to "#", "#/$defs/…", "#/definitions/…" or any other pointer into
//     the same document; recursive references are followed to a nesting
//     depth of MaxDepth.
//   - title, description, examples, default, $schema, $id, $comment,
//     deprecated, readOnly and writeOnly do not constrain output and are
//     ignored; $defs and definitions are read only through $ref.
//
// Not supported (an error): format, minimum, maximum,
// exclusiveMinimum, exclusiveMaximum, multipleOf, minProperties,
// maxProperties, patternProperties, propertyNames, prefixItems, contains,
// uniqueItems (true), not, if/then/else, and the rest.
//
// # What is emitted
//
// Whitespace: none before or after the value; between two tokens of the
// JSON text (after { [ , : and before , : } ]) at most MaxWhitespace bytes of
// space, tab, newline or carriage return, so a model cannot loop forever on
// whitespace. Numbers: an integer part of at most 15 digits, a fraction of
// at most 15 and an exponent of at most 2 (so every number parses as a
// float64). Strings are valid UTF-8; escapes are the JSON ones, and \u
// escapes of UTF-16 surrogates are not emitted (each \u escape is one code
// point). Nesting is at most MaxDepth containers deep.
//
// strict is accepted and changes nothing: the output is always held to the
// schema. A json_schema without schema accepts any JSON value.
//
// The output is complete (Complete reports true) when it is a whole value
// and no byte can extend it; when it is a whole value that could still go
// on (a top-level number), the end-of-sequence tokens are allowed beside
// the continuations.
//
// A dead end, where no byte may follow though the value is not whole (a
// required recursive property at MaxDepth, a pattern that no longer fits
// its maxLength), makes Complete report true, so generation stops rather
// than samples from nothing; the output then does not validate. Where
// bytes may follow but no token of the vocabulary has them, Mask leaves
// the end-of-sequence tokens allowed.
//
// # Use
//
// The server keeps one Compiler per model and compiles each request's
// response_format; errors are 400s with the message as it is (the field
// is response_format):
//
//	comp := constrain.NewCompiler(constrain.NewVocab(tok, stopIDs...))
//	c, err := comp.Compile(req.ResponseFormat) // nil, nil for {"type":"text"}
//	engine.Request{…, Constraint: c}
//
// # Cost
//
// Mask walks a byte trie of the vocabulary with the automaton's state, so
// a shared prefix is stepped once and a branch stops at its first refused
// byte; inside a string it takes the tokens that cannot leave it (no quote,
// no control byte, no invalid UTF-8) from a precomputed set (by length, for
// maxLength) and walks only the others. Each Grammar keeps the masks of the
// last states it met (128), shared by its requests, and a Compiler the last
// grammars (16) by format. With cl100k_base (100k tokens) an uncached Mask
// takes about 0.1–0.2 ms at the start of an object, in a number or inside
// a string, a few microseconds with a 256-byte vocabulary.
package constrain
