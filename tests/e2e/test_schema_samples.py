"""Seeded samples under JSON Schema and regex constraints satisfy them.

A real `ggufd serve` on SmolLM2 samples 20 outputs (seeds 1..20, the
server's default sampling chain, temperature 0.8) under each JSON Schema
below (nested objects, arrays of objects, $ref, anyOf, enums, integer
bounds, patterns, a date format) and each regular expression. Every output
must end with FINISH_REASON_CONSTRAINT_COMPLETE (the schemas bound every
string and array, so a document always fits in MAX_TOKENS) and be valid:
checked by the `jsonschema` package with its format checker, and by
Python's `re.fullmatch`, both independent of ggufd's converter.
"""

import json
import re

import jsonschema
import pytest

from grpc_server import GrpcServer

SAMPLES = 20
MAX_TOKENS = 1024


def chat(question):
    return f"<|im_start|>user\n{question}<|im_end|>\n<|im_start|>assistant\n"


SCHEMAS = {
    "person": ("Describe a person as JSON.", {
        "type": "object",
        "properties": {
            "name": {"type": "string", "maxLength": 24},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
            "tags": {"type": "array", "maxItems": 3,
                     "items": {"enum": ["friend", "colleague", "family"]}},
            "address": {
                "type": "object",
                "properties": {
                    "city": {"type": "string", "maxLength": 20},
                    "zip": {"type": "string", "pattern": "^[0-9]{5}$"},
                },
                "required": ["city", "zip"],
            },
        },
        "required": ["name", "age", "tags", "address"],
    }),
    "inventory": ("List a few items of a shop's inventory as JSON.", {
        "type": "array", "minItems": 1, "maxItems": 3,
        "items": {
            "type": "object",
            "properties": {
                "sku": {"type": "string", "pattern": "^[A-Z]{3}-[0-9]{3}$"},
                "qty": {"type": "integer", "minimum": 1, "maximum": 99},
                "in_stock": {"type": "boolean"},
            },
            "required": ["sku", "qty", "in_stock"],
        },
    }),
    "event": ("Describe a calendar event as JSON.", {
        "type": "object",
        "properties": {
            "title": {"type": "string", "maxLength": 30},
            "date": {"type": "string", "format": "date"},
            "kind": {"enum": ["meeting", "call", "trip"]},
            "attendees": {"type": "array", "maxItems": 3,
                          "items": {"type": "string", "maxLength": 16}},
        },
        "required": ["title", "date", "kind", "attendees"],
    }),
    "line": ("Give a line segment as JSON.", {
        "$defs": {"point": {
            "type": "object",
            "properties": {"x": {"type": "integer", "minimum": -99, "maximum": 99},
                           "y": {"type": "integer", "minimum": -99, "maximum": 99}},
            "required": ["x", "y"],
        }},
        "type": "object",
        "properties": {"from": {"$ref": "#/$defs/point"}, "to": {"$ref": "#/$defs/point"}},
        "required": ["from", "to"],
    }),
    "shape": ("Describe a shape as JSON.", {
        "anyOf": [
            {"type": "object",
             "properties": {"kind": {"const": "circle"},
                            "r": {"type": "integer", "minimum": 1, "maximum": 9}},
             "required": ["kind", "r"]},
            {"type": "object",
             "properties": {"kind": {"const": "square"},
                            "side": {"type": "integer", "minimum": 1, "maximum": 9}},
             "required": ["kind", "side"]},
        ],
    }),
}

REGEXES = {
    "name_number": ("Name a city and a number.", r"[A-Z][a-z]{2,8} [0-9]{1,3}"),
    "answer": ("Is the sky blue? Answer and say why.", r"(yes|no), because [a-z ]{5,40}\."),
}


@pytest.fixture(scope="module")
def server(ggufd_bin, default_model):
    pytest.importorskip("ggufd.v1.inference_pb2_grpc",
                        reason="the Python client (clients/python) is not installed")
    s = GrpcServer(ggufd_bin, default_model)
    yield s
    s.close()


def sample(server, prompt, seed, **constraint):
    request = server.pb.GenerateRequest(text=prompt)
    for kind, text in constraint.items():
        setattr(request.constraint, kind, text)
    request.sampling.seed = seed
    request.stopping.max_tokens = MAX_TOKENS
    text, reason = "", None
    for event in server.inference.Generate(request, timeout=600):
        if event.HasField("chunk"):
            text += event.chunk.text
        elif event.HasField("finished"):
            reason = server.pb.FinishReason.Name(event.finished.reason)
    return text, reason


@pytest.mark.parametrize("name", sorted(SCHEMAS))
def test_json_schema_samples_are_valid(server, name):
    question, schema = SCHEMAS[name]
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    for seed in range(1, SAMPLES + 1):
        text, reason = sample(server, chat(question), seed, json_schema=json.dumps(schema))
        assert reason == "FINISH_REASON_CONSTRAINT_COMPLETE", (seed, reason, text)
        validator.validate(json.loads(text))


@pytest.mark.parametrize("name", sorted(REGEXES))
def test_regex_samples_match(server, name):
    question, pattern = REGEXES[name]
    for seed in range(1, SAMPLES + 1):
        text, reason = sample(server, chat(question), seed, regex=pattern)
        assert reason == "FINISH_REASON_CONSTRAINT_COMPLETE", (seed, reason, text)
        assert re.fullmatch(pattern, text), (seed, text)


def test_the_validators_can_fail():
    _, person = SCHEMAS["person"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"name": "x", "age": 130, "tags": [], "address":
                             {"city": "a", "zip": "1234"}}, person)
    _, event = SCHEMAS["event"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft202012Validator(
            event, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER).validate(
                {"title": "t", "date": "2026-02-30", "kind": "call", "attendees": []})
    assert not re.fullmatch(REGEXES["name_number"][1], "paris 12")
