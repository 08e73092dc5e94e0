package ggufd

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
)

// ErrConstraintKinds is returned, wrapped, by Constraint.Proto when more
// than one kind of constraint is set: the request carries only one, and
// silently keeping one of them would hide the mistake.
var ErrConstraintKinds = errors.New("ggufd: a constraint takes only one of Grammar, JSONSchema and Regex")

// Constraint restricts a generation's output to a formal language; set at
// most one field. The stream then ends with
// FINISH_REASON_CONSTRAINT_COMPLETE once nothing more can follow; a
// constraint the server cannot use fails the call with INVALID_ARGUMENT.
// For a request built by hand, Grammar, JSONSchema and Regex (the
// functions) make the GenerateRequest.Constraint directly.
type Constraint struct {
	// Grammar is a grammar in llama.cpp's GBNF; the output is a sentence of
	// its rule root.
	Grammar string
	// JSONSchema is a JSON Schema the output (one JSON value) is valid
	// under: its JSON text as a string, []byte or json.RawMessage, or any
	// value encoding/json marshals into one (a map[string]any, a struct).
	JSONSchema any
	// Regex is a regular expression the whole output matches.
	Regex string
}

// Proto is the GenerateRequest.Constraint for c: nil when c sets nothing,
// an error wrapping ErrConstraintKinds when it sets more than one kind, or
// the JSON encoding's error for a JSONSchema value it cannot marshal.
func (c Constraint) Proto() (*ggufdv1.Constraint, error) {
	var kinds []string
	if c.Grammar != "" {
		kinds = append(kinds, "Grammar")
	}
	if c.JSONSchema != nil {
		kinds = append(kinds, "JSONSchema")
	}
	if c.Regex != "" {
		kinds = append(kinds, "Regex")
	}
	switch {
	case len(kinds) > 1:
		return nil, fmt.Errorf("%w; got %s", ErrConstraintKinds, strings.Join(kinds, " and "))
	case c.Grammar != "":
		return Grammar(c.Grammar), nil
	case c.Regex != "":
		return Regex(c.Regex), nil
	case c.JSONSchema != nil:
		text, err := schemaText(c.JSONSchema)
		if err != nil {
			return nil, err
		}
		return JSONSchema(text), nil
	}
	return nil, nil
}

func schemaText(schema any) (string, error) {
	switch s := schema.(type) {
	case string:
		return s, nil
	case []byte:
		return string(s), nil
	case json.RawMessage:
		return string(s), nil
	}
	text, err := json.Marshal(schema)
	if err != nil {
		return "", fmt.Errorf("ggufd: JSONSchema: %w", err)
	}
	return string(text), nil
}

// Grammar is a constraint to a GBNF grammar (llama.cpp's format).
func Grammar(gbnf string) *ggufdv1.Constraint {
	return &ggufdv1.Constraint{Kind: &ggufdv1.Constraint_Grammar{Grammar: gbnf}}
}

// JSONSchema is a constraint to JSON valid under a JSON Schema (its text);
// Constraint{JSONSchema: value}.Proto() marshals a Go value instead.
func JSONSchema(schema string) *ggufdv1.Constraint {
	return &ggufdv1.Constraint{Kind: &ggufdv1.Constraint_JsonSchema{JsonSchema: schema}}
}

// Regex is a constraint to text the regular expression matches whole.
func Regex(pattern string) *ggufdv1.Constraint {
	return &ggufdv1.Constraint{Kind: &ggufdv1.Constraint_Regex{Regex: pattern}}
}
