"""Seeded samples under each of llama.cpp's grammars satisfy the grammar.

A real `ggufd serve` on SmolLM2 samples 20 outputs (seeds 1..20, the
server's default sampling chain, temperature 0.8) for each grammar in
../shared/testdata/llama.cpp-grammars, with a prompt that suits it. Each
output is checked by lark's Earley parser on the grammar translated
independently of ggufd (gbnf_lark.py): an output that ended (the grammar
completed, or the model's end token where the grammar may end) must be a
whole sentence; one cut by max_tokens must be a prefix of a sentence. The
validators themselves are shown to reject wrong texts.
"""

import pytest

from grammar_e2e import GRAMMAR_QUESTIONS, Server, Validator, chat, decode_output, llama_grammars

SAMPLES = 20
MAX_TOKENS = 160
GRAMMARS = llama_grammars()


@pytest.fixture(scope="module")
def server(ggufd_bin, default_model):
    pytest.importorskip("ggufd.v1.inference_pb2_grpc",
                        reason="the Python client (clients/python) is not installed")
    s = Server(ggufd_bin, default_model)
    yield s
    s.close()


@pytest.fixture(scope="module")
def validators():
    return {name: Validator(text) for name, text in GRAMMARS}


# Texts each grammar refuses, whole and as a prefix.
NOT_PREFIXES = {
    "arithmetic": "=1",
    "c": "int main() {",       # no space allowed before "{"
    "chess": "1. e9",
    "english": "héllo",
    "japanese": "hello",
    "json": "[1, 2]",
    "json_arr": "{}",
    "list": "* item",
}
# Prefixes that are not whole sentences.
PREFIXES_ONLY = {
    "arithmetic": "x = y",
    "c": "int add(int a",
    "chess": "1. e4 e5\n2. Nf3",
    "english": "Hello ",
    "japanese": "こんにちは ",
    "json": '{"a": [1, 2',
    "json_arr": "[\n1,\n",
    "list": "- one\n- tw",
}


@pytest.mark.parametrize("name", [n for n, _ in GRAMMARS])
def test_validators_can_refuse(validators, name):
    v = validators[name]
    assert not v.sentence.accepts(NOT_PREFIXES[name])
    assert not v.prefix.accepts(NOT_PREFIXES[name])
    assert v.prefix.accepts(PREFIXES_ONLY[name])
    assert not v.sentence.accepts(PREFIXES_ONLY[name])


@pytest.mark.parametrize("name,grammar", GRAMMARS, ids=[n for n, _ in GRAMMARS])
def test_seeded_samples_satisfy_the_grammar(server, validators, name, grammar):
    prompt = chat(GRAMMAR_QUESTIONS[name])
    v = validators[name]
    ended = 0
    for seed in range(1, SAMPLES + 1):
        out = server.sample(prompt, grammar, seed, MAX_TOKENS)
        complete = out["reason"] in ("FINISH_REASON_EOS", "FINISH_REASON_CONSTRAINT_COMPLETE")
        assert complete or out["reason"] == "FINISH_REASON_MAX_TOKENS", out
        text = decode_output(out["bytes"], complete)
        if complete:
            ended += 1
            assert v.sentence.accepts(text), f"{name} seed {seed} ({out['reason']}): {text!r}"
        else:
            assert v.prefix.accepts(text), f"{name} seed {seed} (cut): {text!r}"
        print(f"{name} seed {seed}: {out['reason']}, {len(out['ids'])} tokens: {text[:60]!r}")
    print(f"{name}: {ended}/{SAMPLES} samples ended as whole sentences")
