"""Greedy constrained decoding equals llama.cpp's, token for token.

For each prompt x grammar pair (llama.cpp's eight grammars with a prompt
that suits each, and hand-written grammars that complete, use token ids
and characters outside ASCII), `ggufd run --temp 0 --grammar-file` and
node-llama-cpp's LlamaGrammar (llama.cpp's parser and grammar sampler,
tests/reference/reference.mjs greedy-grammar) generate up to N tokens. The
prompt ids must be equal, and so must the generated ids: ggufd's emitted
ids, plus the end-of-generation token when it stopped on one, are the
reference's first ids; when ggufd ended because the grammar was complete,
llama.cpp (which admits only end tokens there) must produce an end token
right after the same ids.
"""

import pytest

from grammar_e2e import GRAMMAR_QUESTIONS, chat, ggufd_run, llama_grammars

N_TOKENS = 48

EXTRA = [
    ("yes-no", "Is the sky blue? Answer yes or no.",
     'root ::= ("Yes" | "No" | "yes" | "no") "."'),
    ("number-list", "Give me three numbers between 1 and 99 as a list.",
     'root ::= "[" num (", " num){2} "]"\nnum ::= [1-9] [0-9]?'),
    ("date", "When did the Second World War end? Answer with a date.",
     'root ::= [12] [0-9]{3} "-" [01] [0-9] "-" [0-3] [0-9]'),
    ("person", "Describe a person as JSON with a name and an age.",
     'root ::= "{\\"name\\": \\"" [A-Za-z ]{1,20} "\\", \\"age\\": " [1-9] [0-9]? "}"'),
    ("color", "What color is grass?",
     'root ::= "The color is " ("red" | "green" | "blue" | "yellow") "."'),
    ("accents", "Write the French word for coffee, then the German word for street.",
     'root ::= [a-zA-Zéèàçüöäß]+ (", " [a-zA-Zéèàçüöäß]+)? "."'),
    ("token-id", "Say something short.",
     'root ::= <[1]> [a-z ]{1,24} "."'),
]

CASES = [(name, chat(GRAMMAR_QUESTIONS[name]), text) for name, text in llama_grammars()]
CASES += [(name, chat(question), text) for name, question, text in EXTRA]
MIN_CASES = 10


@pytest.fixture(scope="module")
def runs(ggufd_bin, default_model, reference, tmp_path_factory):
    files = tmp_path_factory.mktemp("grammars")
    theirs = reference("greedy-grammar", "--model", default_model, "--n", N_TOKENS,
                       "--threads", 1,
                       stdin=[{"prompt": p, "grammar": g} for _, p, g in CASES])
    ours = []
    for name, prompt, grammar in CASES:
        path = files / f"{name}.gbnf"
        path.write_text(grammar, encoding="utf-8")
        ours.append(ggufd_run(ggufd_bin, default_model, prompt, path, N_TOKENS))
    return ours, theirs


def test_enough_cases():
    assert len(CASES) >= MIN_CASES


def test_prompt_ids_match(runs):
    ours, theirs = runs
    for (name, _, _), o, t in zip(CASES, ours, theirs):
        assert o["prompt_ids"] == t["prompt_ids"], name


def test_greedy_tokens_match_llama_cpp(runs):
    ours, theirs = runs
    mismatches = []
    for (name, _, _), o, t in zip(CASES, ours, theirs):
        ids = list(o["ids"])
        if "end_token" in o:
            ids.append(o["end_token"]["id"])
        ref = t["ids"]
        same = next((i for i in range(min(len(ids), len(ref))) if ids[i] != ref[i]),
                    min(len(ids), len(ref)))
        reason = o["finish_reason"]
        ok = same == len(ids) and ids == ref[:len(ids)]
        if reason == "constraint_complete":
            # llama.cpp admits only end tokens once the grammar is complete.
            ok = ok and len(ref) == len(ids) + 1 and t["end_eog"]
        elif reason == "eos":
            ok = ok and len(ref) == len(ids)
        else:
            assert reason == "max_tokens", (name, reason)
            ok = ok and len(ref) == N_TOKENS
        print(f"{name}: {reason}, {len(o['ids'])} tokens, "
              f"{'equal' if ok else f'differs at {same}'}: {o['text'][:50]!r}")
        if not ok:
            mismatches.append((name, same, ids[same:same + 3], ref[same:same + 3]))
    assert not mismatches, mismatches
