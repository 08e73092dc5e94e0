"""The JSON Schema and regex converters (runtime/grammar/schema) against
independent checkers.

For each schema the converter's grammar (printed by the test tool
build/tests/runtime/grammar/schema/schema_to_gbnf_tool) is recognized with
lark's Earley parser (gbnf_lark.py). Hand-written documents and mutations
of them, serialized compactly, with spaces and indented, must be accepted by
the grammar exactly when the `jsonschema` package (with its format checker)
says they are valid for the schema as the converter reads it: like
llama.cpp, objects with "properties" admit no undeclared properties unless
"additionalProperties" says so and tuples are complete and closed unless the
schema says otherwise. Soundness (accepted => valid) is also checked on
documents with keys out of declared order.

For the schemas in llama.cpp's supported subset, llama.cpp's own converter
(examples/json_schema_to_grammar.py, read from the llama.cpp source bundled
in tests/reference's node-llama-cpp) is run too, and both grammars must
accept the same documents. Regexes are compared with Python's `re` on
strings they should and should not match.
"""

import copy
import importlib.util
import json
import os
import pathlib
import random
import re
import subprocess
import sys

import jsonschema
import pytest

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))
from conftest import REFERENCE_DIR, REPO_ROOT, TESTDATA_DIR  # noqa: E402
from gbnf_lark import GbnfRecognizer  # noqa: E402

TOOL = pathlib.Path(os.environ.get(
    "GGUFD_SCHEMA_TOOL", REPO_ROOT / "build" / "tests" / "runtime" / "grammar" / "schema" / "schema_to_gbnf_tool"))
LLAMA_BUNDLE = REFERENCE_DIR / "node_modules" / "node-llama-cpp" / "llama" / "gitRelease.bundle"


class ConversionError(Exception):
    pass


def convert(text, regex=False):
    if not TOOL.is_file():
        pytest.fail(f"converter test tool not built: {TOOL}")
    proc = subprocess.run([str(TOOL)] + (["--regex"] if regex else []), input=text.encode("utf-8"),
                          capture_output=True, timeout=60, check=False)
    if proc.returncode == 2:
        raise ConversionError(proc.stderr.decode("utf-8", "replace").strip())
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return proc.stdout.decode("utf-8")


# --- the schema as the converter reads it ---------------------------------

def strict(schema):
    """The schema with the converter's documented defaults made explicit, so
    that jsonschema judges documents by the same rules: no undeclared
    properties unless additionalProperties is given, closed tuples whose
    items are all required unless minItems/items say otherwise."""
    # Definitions used as allOf parts describe part of an object: only the
    # allOf holder closes it.
    all_of_refs = set()

    def find_all_of_refs(node):
        if isinstance(node, list):
            for x in node:
                find_all_of_refs(x)
        elif isinstance(node, dict):
            for part in node.get("allOf", []):
                if isinstance(part, dict) and "$ref" in part:
                    all_of_refs.add(part["$ref"].split("/")[-1])
            for v in node.values():
                find_all_of_refs(v)
    find_all_of_refs(schema)

    def walk(node, in_all_of=False):
        if isinstance(node, list):
            return [walk(x, in_all_of) for x in node]
        if not isinstance(node, dict):
            return node
        out = {}
        for k, v in node.items():
            if k in ("$defs", "definitions"):
                out[k] = {name: walk(s, name in all_of_refs) for name, s in v.items()}
            elif k == "properties":
                out[k] = {name: walk(s) for name, s in v.items()}
            elif k == "allOf":
                out[k] = [walk(s, in_all_of=True) for s in v]
            elif k in ("enum", "const", "required"):
                out[k] = v
            else:
                out[k] = walk(v)
        if "properties" in out and "additionalProperties" not in out and not in_all_of:
            out["unevaluatedProperties"] = False
        if "allOf" in out and "additionalProperties" not in out:
            out["unevaluatedProperties"] = False
        if isinstance(out.get("prefixItems"), list):
            k = len(out["prefixItems"])
            out.setdefault("minItems", k)
            if "items" not in out and out.get("maxItems", k) <= k:
                out["items"] = False
        return out
    return walk(copy.deepcopy(schema))


def validator_for(schema):
    s = strict(schema)
    s.setdefault("$schema", "https://json-schema.org/draft/2020-12/schema")
    cls = jsonschema.validators.validator_for(s)
    cls.check_schema(s)
    return cls(s, format_checker=cls.FORMAT_CHECKER)


# --- documents ------------------------------------------------------------

def serializations(value):
    """The spellings a model plausibly writes: compact, spaced, indented."""
    return [
        json.dumps(value, ensure_ascii=False, separators=(",", ":")),
        json.dumps(value, ensure_ascii=False),
        json.dumps(value, ensure_ascii=False, indent=2),
    ]


REPLACEMENTS = [None, True, 0, -7, 2.5, 12345678, "x", "", "ab\"c\\d\ne", "é😀", [], {}, [1], {"k": 1}]


def mutations(value, rng, limit=60):
    """Values one edit away from `value` (keys keep their order)."""
    out = []

    def at(path, v):
        for p in path:
            v = v[p]
        return v

    def paths(v, path=()):
        yield path
        if isinstance(v, dict):
            for k in v:
                yield from paths(v[k], path + (k,))
        elif isinstance(v, list):
            for i in range(len(v)):
                yield from paths(v[i], path + (i,))

    def replaced(path, new):
        if not path:
            return new
        root = copy.deepcopy(value)
        at(path[:-1], root)[path[-1]] = new
        return root

    for path in paths(value):
        node = at(path, value)
        for r in REPLACEMENTS:
            if r != node or type(r) is not type(node):
                out.append(replaced(path, r))
        if isinstance(node, dict):
            for k in node:
                smaller = {kk: vv for kk, vv in node.items() if kk != k}
                out.append(replaced(path, smaller))
            out.append(replaced(path, {**node, "zz_extra": 1}))
        if isinstance(node, list):
            if node:
                out.append(replaced(path, node[:-1]))
                out.append(replaced(path, node + [copy.deepcopy(node[-1])]))
            out.append(replaced(path, []))
        if isinstance(node, str):
            out += [replaced(path, node + "x"), replaced(path, node[:-1]), replaced(path, node.upper())]
        if isinstance(node, int) and not isinstance(node, bool):
            out += [replaced(path, node + 1), replaced(path, node - 1), replaced(path, -node)]
    rng.shuffle(out)
    return out[:limit]


def shuffled_keys(value, rng):
    if isinstance(value, dict):
        items = list(value.items())
        rng.shuffle(items)
        return {k: shuffled_keys(v, rng) for k, v in items}
    if isinstance(value, list):
        return [shuffled_keys(v, rng) for v in value]
    return value


# --- cases ----------------------------------------------------------------
# valid: values valid for the schema, keys in declared order (the grammar
# must accept them); invalid: values it must reject; llama: llama.cpp's
# converter handles the schema the same way (compared document by document).

CASES = [
    dict(id="nested-objects-arrays", llama=True, ascii=True, schema={
        "type": "object",
        "properties": {
            "name": {"type": "string", "minLength": 1, "maxLength": 12},
            "age": {"type": "integer", "minimum": 0, "maximum": 150},
            "address": {
                "type": "object",
                "properties": {"street": {"type": "string"}, "zip": {"type": "string", "pattern": "^[0-9]{5}$"}},
                "required": ["street", "zip"],
            },
            "tags": {"type": "array", "items": {"type": "string", "maxLength": 5}, "minItems": 1, "maxItems": 3},
            "scores": {"type": "array", "items": {"type": "array", "items": {"type": "number"}, "maxItems": 2}},
        },
        "required": ["name", "age", "address"],
    }, valid=[
        {"name": "Ada", "age": 36, "address": {"street": "Main St", "zip": "12345"}},
        {"name": "Bo", "age": 0, "address": {"street": "", "zip": "00000"}, "tags": ["a", "bb", "ccc"],
         "scores": [[1, 2.5], [], [-3e2]]},
        {"name": "é😀 \"q\"", "age": 150, "address": {"street": "a\\b\n", "zip": "99999"}, "tags": ["x"]},
    ], invalid=[
        {"name": "", "age": 1, "address": {"street": "s", "zip": "12345"}},
        {"name": "Ada", "age": 151, "address": {"street": "s", "zip": "12345"}},
        {"name": "Ada", "age": 1, "address": {"street": "s", "zip": "1234"}},
        {"name": "Ada", "age": 1, "address": {"street": "s", "zip": "12345"}, "tags": []},
        {"name": "Ada", "age": 1, "address": {"street": "s", "zip": "12345"}, "extra": 1},
    ]),
    dict(id="enum-const-types", llama=True, schema={
        "type": "object",
        "properties": {
            "color": {"enum": ["red", "green", "blue", 7, None]},
            "kind": {"const": "fixed"},
            "flag": {"type": "boolean"},
            "nothing": {"type": "null"},
            "either": {"type": ["string", "integer"]},
        },
        "required": ["color", "kind", "flag", "nothing", "either"],
    }, valid=[
        {"color": "red", "kind": "fixed", "flag": True, "nothing": None, "either": "s"},
        {"color": 7, "kind": "fixed", "flag": False, "nothing": None, "either": -12},
        {"color": None, "kind": "fixed", "flag": False, "nothing": None, "either": ""},
    ], invalid=[
        {"color": "Red", "kind": "fixed", "flag": True, "nothing": None, "either": "s"},
        {"color": "red", "kind": "fixed ", "flag": True, "nothing": None, "either": "s"},
        {"color": "red", "kind": "fixed", "flag": True, "nothing": None, "either": 1.5},
    ]),
    dict(id="refs-and-recursion", llama=True, schema={
        "$defs": {
            "node": {
                "type": "object",
                "properties": {"value": {"type": "integer"}, "children": {"type": "array", "items": {"$ref": "#/$defs/node"}}},
                "required": ["value"],
            },
            "count": {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 10},
        },
        "type": "object",
        "properties": {"tree": {"$ref": "#/$defs/node"}, "count": {"$ref": "#/$defs/count"}},
        "required": ["tree"],
    }, valid=[
        {"tree": {"value": 1}},
        {"tree": {"value": 1, "children": [{"value": 2}, {"value": 3, "children": [{"value": 4, "children": []}]}]}, "count": 9},
        {"tree": {"value": -5, "children": []}, "count": 1},
    ], invalid=[
        {"tree": {}},
        {"tree": {"value": 1}, "count": 0},
        {"tree": {"value": 1}, "count": 10},
        {"tree": {"value": 1, "children": [{"value": "x"}]}},
    ]),
    dict(id="anyof-oneof", llama=True, schema={
        "type": "object",
        "properties": {
            "shape": {"anyOf": [
                {"type": "object", "properties": {"kind": {"const": "circle"}, "r": {"type": "number"}}, "required": ["kind", "r"]},
                {"type": "object", "properties": {"kind": {"const": "square"}, "side": {"type": "integer"}}, "required": ["kind", "side"]},
            ]},
            "id": {"oneOf": [{"type": "string", "format": "uuid"}, {"type": "null"}]},
        },
        "required": ["shape", "id"],
    }, valid=[
        {"shape": {"kind": "circle", "r": 1.5}, "id": None},
        {"shape": {"kind": "square", "side": 3}, "id": "123e4567-e89b-12d3-a456-426614174000"},
    ], invalid=[
        {"shape": {"kind": "circle", "side": 3}, "id": None},
        {"shape": {"kind": "square", "side": 3}, "id": "123e4567-e89b-12d3-a456-42661417400"},
        {"shape": {"kind": "triangle"}, "id": None},
    ]),
    dict(id="formats", llama=False, schema={
        "type": "object",
        "properties": {
            "day": {"type": "string", "format": "date"},
            "at": {"type": "string", "format": "time"},
            "when": {"type": "string", "format": "date-time"},
        },
        "required": ["day", "at", "when"],
    }, valid=[
        {"day": "2024-02-29", "at": "23:59:59Z", "when": "2000-12-31T00:00:00.123+05:30"},
        {"day": "0001-01-01", "at": "00:00:00-23:59", "when": "1999-02-28T12:30:00Z"},
        {"day": "2000-02-29", "at": "12:00:00.000Z", "when": "2024-04-30T01:02:03Z"},
    ], invalid=[
        {"day": "2023-02-29", "at": "23:59:59Z", "when": "2000-12-31T00:00:00Z"},
        {"day": "1900-02-29", "at": "23:59:59Z", "when": "2000-12-31T00:00:00Z"},
        {"day": "2024-04-31", "at": "23:59:59Z", "when": "2000-12-31T00:00:00Z"},
        {"day": "2024-13-01", "at": "23:59:59Z", "when": "2000-12-31T00:00:00Z"},
        {"day": "2024-01-01", "at": "24:00:00Z", "when": "2000-12-31T00:00:00Z"},
        {"day": "2024-01-01", "at": "23:59:59", "when": "2000-12-31T00:00:00Z"},
        {"day": "2024-01-01", "at": "23:59:59Z", "when": "2000-12-31 00:00:00Z"},
    ]),
    dict(id="patterns", llama=False, schema={
        "type": "object",
        "properties": {
            "code": {"type": "string", "pattern": "^[A-Z]{2,3}-\\d{2,4}$"},
            "contains": {"type": "string", "pattern": "ab+c"},
            "alt": {"type": "string", "pattern": "^(?:yes|no)$|^maybe"},
            "esc": {"type": "string", "pattern": "^[\"\\\\]\\.\\u00e9?(x|\\n)*$"},
        },
        "required": ["code"],
    }, valid=[
        {"code": "AB-12"},
        {"code": "XYZ-1234", "contains": "xxabbbcyy", "alt": "yes", "esc": "\"."},
        {"code": "QQ-00", "contains": "abc", "alt": "maybe not", "esc": "\\.éx\nx"},
    ], invalid=[
        {"code": "A-12"},
        {"code": "AB-1"},
        {"code": "ab-12"},
        {"code": "AB-12", "contains": "ac"},
        {"code": "AB-12", "alt": "yes!"},
        {"code": "AB-12", "alt": "nomaybe"},
        {"code": "AB-12", "esc": "a."},
    ]),
    dict(id="tuples-and-additional", llama=False, schema={
        "type": "object",
        "properties": {
            "point": {"type": "array", "prefixItems": [{"type": "number"}, {"type": "number"}, {"type": "string"}], "minItems": 2},
            "pair": {"type": "array", "prefixItems": [{"type": "integer"}, {"type": "boolean"}]},
            "open": {"type": "array", "prefixItems": [{"type": "integer"}], "items": {"type": "string"}, "maxItems": 3},
            "q\"t": {"type": "null"},
            "é": {"type": "null"},
        },
        "additionalProperties": {"type": "integer"},
    }, valid=[
        {},
        {"point": [1, 2]},
        {"point": [1, 2, "label"], "pair": [1, False], "open": [1, "a", "b"], "extra": 5, "more": -1},
        {"open": [7], "poin": 1, "points": 2, "": 3},
        {"q\"t": None, "é": None, "q\"": 1, "q\"tt": 2, "éé": 3, "e": 4, "\n": 5},
    ], invalid=[
        {"point": [1]},
        {"pair": [1]},
        {"pair": [1, True, 3]},
        {"open": [1, "a", "b", "c"]},
        {"open": ["a"]},
        {"extra": "x"},
        {"q\"t": 1},
    ]),
    dict(id="allof-merge", llama=False, schema={
        "$defs": {"base": {"type": "object", "properties": {"id": {"type": "integer", "minimum": 1}}, "required": ["id"]}},
        "allOf": [
            {"$ref": "#/$defs/base"},
            {"properties": {"label": {"type": "string", "maxLength": 4}}, "required": ["label"]},
        ],
    }, valid=[
        {"id": 1, "label": ""},
        {"id": 99, "label": "abcd"},
    ], invalid=[
        {"id": 0, "label": "a"},
        {"id": 1},
        {"id": 1, "label": "abcde"},
    ]),
    dict(id="any-value", llama=False, ascii=True, schema={}, valid=[
        None, True, 0, -1.5e10, "s", [], {}, {"a": [1, {"b": None}], "c": "d"}, {"é😀\u0001": "\u2028\ud7ff\ue000"},
    ], invalid=[]),
    dict(id="integer-bounds", llama=True, schema={
        "type": "array",
        "items": {"type": "integer", "minimum": -1000, "maximum": 2500},
    }, valid=[
        [-1000, -999, -100, -1, 0, 1, 9, 10, 99, 100, 999, 1000, 1999, 2000, 2499, 2500],
    ], invalid=[
        [-1001], [2501], [10000], [-10000], [1.5],
    ]),
]


def readme_schemas():
    """The JSON Schemas in llama.cpp's grammar README (shared test data):
    a Pydantic model and a Zod one."""
    readme = TESTDATA_DIR / "llama.cpp-grammars" / "README.md"
    if not readme.is_file():
        pytest.fail(f"shared test data missing: {readme}")
    return [json.loads(b) for b in re.findall(r"```json\n(.*?)```", readme.read_text(), re.S)]


def qa(i):
    return {"question": f"q{i}", "concise_answer": "a", "justification": "\"b\"", "n": i}


# Large documents (five question/answer pairs at least): fewer mutations.
CASES.append(dict(id="readme-pydantic", llama=True, mutations=10, schema=readme_schemas()[0], valid=[
    {"key_facts": [], "question_answers": []},
    {"key_facts": ["- five+", "- and more facts"], "question_answers": [[qa(i) for i in range(5)]]},
    {"key_facts": ["- ééééé"], "question_answers": [], "extra": {"x": [1]}},
], invalid=[
    {"key_facts": ["- four"], "question_answers": []},
    {"key_facts": ["-  five"[:3]], "question_answers": []},
    {"key_facts": [], "question_answers": [[qa(i) for i in range(4)]]},
    {"key_facts": []},
]))

LLAMA_CASES = [c for c in CASES if c["llama"]]


def test_readme_zod_schema_is_refused_not_approximated():
    # llama.cpp ignores "exclusiveMinimum" on a number (and "format":
    # "email"); the converter says so instead.
    with pytest.raises(ConversionError) as err:
        convert(json.dumps(readme_schemas()[1]))
    assert "#/properties/age" in str(err.value), err.value
    assert "exclusiveMinimum" in str(err.value), err.value


def documents(case):
    """(text, kind) pairs for a case: kind "ordered" (keys in declared
    order), "ascii" (the same, non-ASCII written as \\u escapes, surrogate
    pairs included; for cases whose strings are unconstrained or only
    length-constrained) or "shuffled" (keys in any order)."""
    rng = random.Random(1234)
    docs = []
    values = list(case["valid"]) + list(case["invalid"])
    for v in case["valid"]:
        values += mutations(v, rng, limit=case.get("mutations", 60))
    for v in values:
        for text in serializations(v):
            docs.append((text, "ordered"))
        if case.get("ascii"):
            docs.append((json.dumps(v), "ascii"))
    for v in case["valid"]:
        docs.append((json.dumps(shuffled_keys(v, rng), ensure_ascii=False), "shuffled"))
    return docs


@pytest.fixture(scope="module")
def llama_converter(tmp_path_factory):
    """llama.cpp's Python json-schema-to-grammar converter, from the llama.cpp
    source node-llama-cpp ships (deploy/setup.sh installs it)."""
    if not LLAMA_BUNDLE.is_file():
        pytest.fail(f"llama.cpp source bundle missing: {LLAMA_BUNDLE} (run npm ci in {REFERENCE_DIR})")
    repo = tmp_path_factory.mktemp("llama-src")
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "fetch", "-q", str(LLAMA_BUNDLE), "HEAD"], check=True)
    source = subprocess.run(["git", "-C", str(repo), "show", "FETCH_HEAD:examples/json_schema_to_grammar.py"],
                            check=True, capture_output=True).stdout
    path = repo / "llama_json_schema_to_grammar.py"
    path.write_bytes(source)
    spec = importlib.util.spec_from_file_location("llama_json_schema_to_grammar", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)

    def run(schema):
        conv = module.SchemaConverter(prop_order={}, allow_fetch=False, dotall=False, raw_pattern=False)
        resolved = conv.resolve_refs(copy.deepcopy(schema), "input")
        conv.visit(resolved, "")
        return conv.format_grammar()
    return run


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_grammar_accepts_exactly_the_valid_documents(case):
    grammar = convert(json.dumps(case["schema"]))
    rec = GbnfRecognizer(grammar)
    validator = validator_for(case["schema"])
    for v in case["valid"]:
        assert validator.is_valid(v), f"test data: {v!r} should be valid"
    for v in case["invalid"]:
        assert not validator.is_valid(v), f"test data: {v!r} should be invalid"
    mismatches = []
    checked = accepted = 0
    for text, kind in documents(case):
        valid = validator.is_valid(json.loads(text))
        ok = rec.accepts(text)
        checked += 1
        accepted += ok
        if ok and not valid:
            mismatches.append(f"accepted but invalid: {text}")
        elif kind != "shuffled" and valid and not ok:
            mismatches.append(f"valid but rejected: {text}")
    assert not mismatches, f"{len(mismatches)} of {checked}:\n" + "\n".join(mismatches[:20]) + f"\n--- grammar:\n{grammar}"
    assert accepted > 0


@pytest.mark.parametrize("case", LLAMA_CASES, ids=[c["id"] for c in LLAMA_CASES])
def test_same_documents_as_llama_cpp_converter(case, llama_converter):
    """Both grammars accept the same documents, except where llama.cpp's is
    wrong by the validator (its pattern `.` also matches a raw quote, so a
    string may run on past its end)."""
    ours = GbnfRecognizer(convert(json.dumps(case["schema"])))
    theirs_text = llama_converter(case["schema"])
    theirs = GbnfRecognizer(theirs_text)
    validator = validator_for(case["schema"])
    differ = []
    llama_wrong = n = 0
    for text, kind in documents(case):
        if kind != "ordered":
            continue
        n += 1
        a, b = ours.accepts(text), theirs.accepts(text)
        if a == b:
            continue
        if b != validator.is_valid(json.loads(text)):
            llama_wrong += 1  # llama.cpp is wrong here, not us
        else:
            differ.append(f"ours={a} llama.cpp={b}: {text}")
    assert not differ, f"{len(differ)} of {n} differ:\n" + "\n".join(differ[:20]) + f"\n--- llama.cpp:\n{theirs_text}"
    print(f"{case['id']}: {n} documents, same verdict on {n - llama_wrong}; "
          f"{llama_wrong} where llama.cpp's grammar is wrong by the validator")


# --- refusals ---------------------------------------------------------------

REFUSED = [
    ({"type": "object", "properties": {"a": {"type": "string", "not": {"const": "x"}}}}, '"not"', "#/properties/a"),
    ({"type": "array", "items": {"type": "integer"}, "uniqueItems": True}, '"uniqueItems"', "#"),
    ({"type": "object", "patternProperties": {"^x": {}}}, '"patternProperties"', "#"),
    ({"type": "number", "minimum": 0.5}, "minimum", "#"),
    ({"type": "integer", "multipleOf": 3}, '"multipleOf"', "#"),
    ({"type": "string", "format": "email"}, 'format "email"', "#"),
    ({"$ref": "https://example.com/schema.json"}, "$ref", "#"),
    ({"$ref": "other.json#/a"}, "$ref", "#"),
    ({"$defs": {"a": {"$ref": "#/$defs/b"}, "b": {"anyOf": [{"$ref": "#/$defs/a"}, {"type": "null"}]}}, "$ref": "#/$defs/a"}, "cycle", ""),
    ({"type": "string", "pattern": "^(a)\\1$"}, "backreference", "#"),
    ({"type": "string", "pattern": "^(?=a)a$"}, "lookahead", "#"),
    ({"type": "string", "pattern": "^a\\bb$"}, "word-boundary", "#"),
    ({"type": "string", "pattern": "^a$b"}, "anchor", "#"),
    ({"type": "string", "maxLength": 100000}, "maxLength", "#"),
    ({"type": "array", "minItems": 5000}, "minItems", "#"),
    ({"type": "object", "properties": {"a": {"$ref": "#"}}, "required": ["a"]}, "no finite document", ""),
    ({"type": "integer", "minimum": 5, "maximum": 4}, "no finite document", ""),
    ({"enum": []}, "no finite document", ""),
    ({"type": "object", "properties": {"x": {"type": "string", "x-custom": 1}}}, '"x-custom"', "#/properties/x"),
    ({"properties": {"a": {"$id": "a"}}}, '"$id"', "#/properties/a"),
    ({"type": "array", "items": {"type": "array", "items": {"type": "array", "minItems": 4000}, "minItems": 4000},
      "minItems": 4000}, "limit", ""),
]


@pytest.mark.parametrize("schema,keyword,where", REFUSED, ids=[f"refuse-{i}" for i in range(len(REFUSED))])
def test_unsupported_schemas_are_refused_by_name(schema, keyword, where):
    with pytest.raises(ConversionError) as err:
        convert(json.dumps(schema))
    message = str(err.value)
    assert message.startswith("INVALID_ARGUMENT"), message
    assert keyword in message, message
    assert where in message, message


def test_annotations_are_ignored():
    plain = {"type": "object", "properties": {"a": {"type": "integer"}}}
    annotated = {"$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://x.example/s",
                 "title": "T", "description": "D", "$comment": "c", "examples": [{"a": 1}], "default": {},
                 "type": "object", "properties": {"a": {"type": "integer", "title": "A", "deprecated": False,
                                                        "readOnly": True, "writeOnly": False, "default": 3}}}
    assert convert(json.dumps(plain)) == convert(json.dumps(annotated))


# --- regular expressions ------------------------------------------------------

REGEXES = [
    ("[a-c]+x?", ["a", "abcx", "ccc"], ["", "x", "abd", "ax x"]),
    ("^\\d{3}-\\d{2,}$", ["123-45", "000-123456"], ["12-45", "123-4", "123_45", "١٢٣-45"]),
    ("(ab|cd)*(?:e|)f", ["f", "abf", "cdabef"], ["", "abcf", "aef"]),
    ("[^\\s\"]{1,3}\\.", ["a.", "x\\y.", "é😀b."], [".", " a.", "abcd.", "\"."]),
    ("\\x41\\u00e9\\u{1F600}[\\t\\n]", ["Aé😀\t", "Aé😀\n"], ["Aé😀 ", "ae😀\t"]),
    # ECMAScript's . excludes \r, \u2028 and \u2029 too (Python's only \n).
    ("a.c", ["abc", "a c", "a😀c"], ["a\nc", "ac", "a\rc", "a\u2028c"]),
    ("[\\w-]+@[a-z]+\\.(com|org)", ["a-b_1@x.com", "Z@y.org"], ["@x.com", "a@X.com", "a@x.net"]),
    ("x{2}y{0,2}z{1,}", ["xxz", "xxyyzzz"], ["xz", "xxyyyz", "xxy"]),
    ("colou?r|gr[ae]y", ["color", "colour", "gray", "grey"], ["colouur", "grxy", "colorgray"]),
    ("a+?b*?", ["a", "aab"], ["b", ""]),
]


@pytest.mark.parametrize("pattern,matches,non_matches", REGEXES, ids=[r[0] for r in REGEXES])
def test_regex_grammar_matches_like_re_fullmatch(pattern, matches, non_matches):
    rec = GbnfRecognizer(convert(pattern, regex=True))
    # Python's re (ASCII \d \w) agrees with ECMAScript on these, once
    # ECMAScript's \u{...} and `.` (no \r, \u2028, \u2029) are spelled out.
    python_pattern = {"a.c": "a[^\\n\\r\\u2028\\u2029]c"}.get(pattern, pattern)
    py = re.compile(python_pattern.replace("\\u{1F600}", "\\U0001F600"), re.ASCII)
    for s in matches:
        assert py.fullmatch(s), (pattern, s)
        assert rec.accepts(s), (pattern, s)
    for s in non_matches:
        assert not py.fullmatch(s), (pattern, s)
        assert not rec.accepts(s), (pattern, s)


@pytest.mark.parametrize("pattern,what", [
    ("(a)\\1", "backreference"), ("(?<=a)b", "lookbehind"), ("a(?!b)", "lookahead"),
    ("\\p{L}", "property"), ("a**", "nothing to repeat"), ("(a", "missing ')'"),
    ("[b-a]", "out of order"), ("a{5000}", "limit"), ("a^b", "anchor"), ("a\\q", "unsupported escape"),
])
def test_unsupported_regex_constructs_are_refused(pattern, what):
    with pytest.raises(ConversionError) as err:
        convert(pattern, regex=True)
    assert what in str(err.value)
