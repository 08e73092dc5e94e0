#!/usr/bin/env python3
"""Decode tokens/s with and without a JSON-Schema constraint on the same
prompt, for ggufd and for llama.cpp (node-llama-cpp) in the same run.

ggufd: `ggufd run --temp 0 --json-schema S` generates under the schema (the
constraint ends it when the JSON is complete, C tokens); the unconstrained
run generates the same C tokens from the same prompt (--ignore-eos), so both
decode the same number of positions. Reported tokens/s are ggufd's own
decode timings (after the first token), best of R runs, the two kinds
alternating so that machine noise hits both.

llama.cpp: reference.mjs bench-grammar on the same prompt and schema
(node-llama-cpp's LlamaJsonSchemaGrammar; its converter's grammar, not
ggufd's), greedy, best of R each way.

Also a grammar with a long free-text state (llama.cpp's json.gbnf), where
most tokens are allowed and masks are costliest; and, from build/bench/
grammar_bench --generate, the sampling step's time per token with and
without the schema inside one process (the constraint's own cost, which
machine noise moves far less than it moves tokens/s).

    bench/grammar_overhead.py [--build DIR] [--threads T] [--repeat R]
"""

import argparse
import json
import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
MODEL = ROOT / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
GRAMMARS = ROOT.parent / "shared" / "testdata" / "llama.cpp-grammars"

SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "name": {"type": "string"},
            "age": {"type": "integer", "minimum": 0, "maximum": 120},
            "city": {"type": "string"},
        },
        "required": ["name", "age", "city"],
    },
    "minItems": 6,
    "maxItems": 6,
}
PROMPT = ("<|im_start|>user\nList six people as a JSON array of objects with "
          "name, age and city.<|im_end|>\n<|im_start|>assistant\n")
JSON_PROMPT = ("<|im_start|>user\nGive me a JSON object describing a cat, with "
               "many fields.<|im_end|>\n<|im_start|>assistant\n")


def ggufd_run(ggufd, threads, prompt, n, *extra):
    proc = subprocess.run(
        [str(ggufd), "run", "-m", str(MODEL), "-p", prompt, "-n", str(n), "--temp", "0",
         "--threads", str(threads), "--json", *extra],
        capture_output=True, check=True, timeout=600)
    return json.loads(proc.stdout)


def ggufd_pair(ggufd, threads, repeat, prompt, constraint_flags, max_tokens):
    """Best decode tokens/s (constrained, unconstrained) and the tokens."""
    best_c = best_u = 0.0
    tokens = None
    for _ in range(repeat + 1):  # the first of each is a warm-up
        c = ggufd_run(ggufd, threads, prompt, max_tokens, *constraint_flags)
        n = c["usage"]["completion_tokens"]
        tokens = tokens or (n, c["finish_reason"])
        u = ggufd_run(ggufd, threads, prompt, n, "--ignore-eos")
        best_c = max(best_c, c["timings"]["decode_tokens_per_s"])
        best_u = max(best_u, u["timings"]["decode_tokens_per_s"])
    return best_c, best_u, tokens


def reference_pair(threads, repeat, case, n):
    proc = subprocess.run(
        ["node", str(ROOT / "tests" / "reference" / "reference.mjs"), "bench-grammar",
         "--model", str(MODEL), "--threads", str(threads), "--n", str(n),
         "--repeat", str(repeat)],
        input=json.dumps(case).encode(), capture_output=True, check=True, timeout=1800)
    out = json.loads(proc.stdout)
    return out["constrained"], out["unconstrained"]


def row(label, constrained, unconstrained, note):
    overhead = 100.0 * (1.0 - constrained / unconstrained)
    print(f"| {label} | {unconstrained:.1f} | {constrained:.1f} | {overhead:+.1f}% | {note} |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--build", default=str(ROOT / "build"))
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--no-reference", action="store_true")
    args = parser.parse_args()
    ggufd = pathlib.Path(args.build) / "service" / "ggufd"

    print(f"threads {args.threads}, best of {args.repeat}; overhead = 1 - constrained/unconstrained\n")
    print("| run | unconstrained tok/s | constrained tok/s | overhead | tokens |")
    print("|---|---|---|---|---|")
    c, u, (n, reason) = ggufd_pair(ggufd, args.threads, args.repeat, PROMPT,
                                   ["--json-schema", json.dumps(SCHEMA)], args.max_tokens)
    row("ggufd, JSON Schema", c, u, f"{n} ({reason})")
    c2, u2, (n2, reason2) = ggufd_pair(
        ggufd, args.threads, args.repeat, JSON_PROMPT,
        ["--grammar-file", str(GRAMMARS / "json.gbnf")], args.max_tokens)
    row("ggufd, json.gbnf", c2, u2, f"{n2} ({reason2})")
    # In-process, the time the sampling step takes per token (where the
    # grammar's checks and masks happen), which machine noise moves less.
    print("\n| ggufd in-process, JSON Schema | temperature | tokens | sampling ms/token free | constrained | constraint's share of decode |")
    print("|---|---|---|---|---|---|")
    for temperature in (0, 0.8):
        proc = subprocess.run(
            [str(pathlib.Path(args.build) / "bench" / "grammar_bench"), "--generate",
             f"--threads={args.threads}", f"--repeat={args.repeat}",
             f"--temperature={temperature}"],
            capture_output=True, check=True, timeout=1800)
        g = json.loads(proc.stdout)
        print(f"| | {temperature} | {g['tokens']} | {g['sampling_ms_per_token_unconstrained']:.4f} | "
              f"{g['sampling_ms_per_token_constrained']:.4f} | "
              f"{100 * g['constraint_share_of_decode']:.2f}% |")
    print()
    if args.no_reference:
        return 0
    print("| run | unconstrained tok/s | constrained tok/s | overhead | tokens |")
    print("|---|---|---|---|---|")
    rc, ru = reference_pair(args.threads, args.repeat,
                            {"prompt": PROMPT, "json_schema": SCHEMA}, args.max_tokens)
    row("llama.cpp, JSON Schema", rc["tokens_per_s"], ru["tokens_per_s"],
        f"{rc['tokens']} constrained, {ru['tokens']} free")
    rc2, ru2 = reference_pair(args.threads, args.repeat,
                              {"prompt": JSON_PROMPT,
                               "grammar": (GRAMMARS / "json.gbnf").read_text()}, args.max_tokens)
    row("llama.cpp, json.gbnf", rc2["tokens_per_s"], ru2["tokens_per_s"],
        f"{rc2['tokens']} constrained, {ru2['tokens']} free")
    return 0


if __name__ == "__main__":
    sys.exit(main())
