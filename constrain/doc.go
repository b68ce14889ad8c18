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
// Not supported (an error): pattern, format, minimum, maximum,
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
// The output is complete (Complete reports true) when it is a whole value
// and no byte can extend it; when it is a whole value that could still go
// on (a top-level number), the end-of-sequence tokens are allowed beside
// the continuations.
package constrain
