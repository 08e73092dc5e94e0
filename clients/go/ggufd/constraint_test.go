package ggufd

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	ggufdv1 "github.com/ggufd/ggufd/clients/go/gen/ggufd/v1"
)

func TestConstraintRefusesMoreThanOneKind(t *testing.T) {
	for _, c := range []Constraint{
		{Grammar: `root ::= "a"`, Regex: "a"},
		{JSONSchema: "{}", Regex: "a"},
		{Grammar: `root ::= "a"`, JSONSchema: map[string]any{}},
	} {
		got, err := c.Proto()
		if !errors.Is(err, ErrConstraintKinds) || got != nil {
			t.Errorf("%+v.Proto() = %v, %v; want ErrConstraintKinds", c, got, err)
		}
	}
	_, err := Constraint{Grammar: "g", JSONSchema: "{}", Regex: "r"}.Proto()
	if err == nil || !strings.Contains(err.Error(), "Grammar and JSONSchema and Regex") {
		t.Errorf("error %v does not name the kinds given", err)
	}
}

func TestConstraintProto(t *testing.T) {
	if got, err := (Constraint{}).Proto(); got != nil || err != nil {
		t.Errorf("empty Constraint = %v, %v; want nil, nil", got, err)
	}
	got, err := Constraint{Regex: "[0-9]+"}.Proto()
	if err != nil || got.GetRegex() != "[0-9]+" {
		t.Errorf("Regex: %v, %v", got, err)
	}
	got, err = Constraint{Grammar: `root ::= "a"`}.Proto()
	if err != nil || got.GetGrammar() != `root ::= "a"` {
		t.Errorf("Grammar: %v, %v", got, err)
	}
	// A schema as text is sent as it is; a Go value is marshalled.
	for _, schema := range []any{`{"type":"integer"}`, []byte(`{"type":"integer"}`),
		json.RawMessage(`{"type":"integer"}`), map[string]any{"type": "integer"},
		struct {
			Type string `json:"type"`
		}{"integer"}} {
		got, err := Constraint{JSONSchema: schema}.Proto()
		if err != nil || got.GetJsonSchema() != `{"type":"integer"}` {
			t.Errorf("JSONSchema %T: %v, %v", schema, got, err)
		}
	}
	if _, err := (Constraint{JSONSchema: func() {}}).Proto(); err == nil {
		t.Error("a JSONSchema that does not marshal gave no error")
	}
	if _, ok := JSONSchema("{}").GetKind().(*ggufdv1.Constraint_JsonSchema); !ok {
		t.Error("JSONSchema() did not set json_schema")
	}
}
