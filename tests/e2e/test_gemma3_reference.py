"""The gemma3 row of the architecture table against llama.cpp on the real
Gemma 3 270M (Q4_K_M: Q4_K, Q5_0, Q6_K and Q8_0 matrices).

For each prompt in tests/data/prompts.json both implementations decode
greedily; at the last prompt position we compare the top-20 logprobs. Exact
greedy parity over many tokens needs the K-quant kernels to follow ggml's
accumulation order (until then activations are rounded to Q8_K differently,
which on the 2-layer synth model alone moves logits by up to 0.6, and Gemma's
18 layers carry more), which is later work. So the bar here is the
last-position distribution: prompt ids equal, top-10 overlap >= 9 on every
prompt, top-1 equal on all but near-ties (at least MIN_TOP1 of 12; the one
miss observed had a margin of 0.08), |logprob difference| within
MAX_LOGPROB_DIFF on the shared top-10 (observed at most 0.94; a wrong step,
e.g. the global RoPE base on local layers, moves them by several units).
Greedy agreement is reported, not required."""
import pathlib

import pytest

from greedy_compare import greedy_runs, steps

GEMMA3_MODEL = pathlib.Path(__file__).resolve().parents[2] / "models" / "gemma-3-270m-q4_k_m.gguf"
N_TOKENS = 16
MAX_LOGPROB_DIFF = 1.5
MIN_TOP1 = 10


@pytest.fixture(scope="module")
def gemma3_model():
    if not GEMMA3_MODEL.is_file():
        pytest.skip(f"gemma3 model missing: {GEMMA3_MODEL}")
    return GEMMA3_MODEL


@pytest.fixture(scope="module")
def runs(ggufd_bin, gemma3_model, reference, repo_root):
    return greedy_runs(ggufd_bin, gemma3_model, reference, repo_root,
                       N_TOKENS, threads=2)


def test_prompt_ids_match(runs):
    prompts, ours, theirs = runs
    for p, o, t in zip(prompts, ours, theirs):
        assert o["prompt_ids"] == t["prompt_ids"], p["name"]


def test_last_position_distribution_agrees(runs):
    prompts, ours, theirs = runs
    worst = 0.0
    top1 = 0
    failures = []
    for p, o, t in zip(prompts, ours, theirs):
        our_top = steps(o)[0][1]
        their_top = t["top"]
        top1 += our_top[0][0] == their_top[0][0]
        overlap = len({i for i, _ in our_top[:10]} & {i for i, _ in their_top[:10]})
        theirs_by_id = {i: lp for i, lp in their_top if lp is not None}
        diff = max(abs(lp - theirs_by_id[i]) for i, lp in our_top[:10] if i in theirs_by_id)
        worst = max(worst, diff)
        print(f"{p['name']}: top-1 {'=' if our_top[0][0] == their_top[0][0] else '!='}, "
              f"top-10 overlap {overlap}, max |dlogprob| {diff:.4f}")
        if overlap < 9 or diff > MAX_LOGPROB_DIFF:
            failures.append(p["name"])
    print(f"top-1 agrees on {top1}/{len(prompts)}; largest |logprob difference| "
          f"(top-10): {worst:.4f}")
    assert not failures, failures
    assert top1 >= MIN_TOP1


def test_report_greedy_agreement(runs):
    """Reports how far greedy decoding agrees (the first token is the
    last-position argmax checked above)."""
    prompts, ours, theirs = runs
    full = 0
    for p, o, t in zip(prompts, ours, theirs):
        ours_steps = steps(o)
        ids = [i for i, _ in ours_steps][:N_TOKENS]
        ref = t["ids"][:N_TOKENS]
        n = len(ids)
        same = next((i for i in range(n) if ids[i] != ref[i]), n)
        full += same == n
        if same < n:
            lp = ours_steps[same][1]
            margin = lp[0][1] - lp[1][1] if len(lp) > 1 else float("nan")
            print(f"{p['name']}: diverges at token {same} (ours {ids[same]}, "
                  f"reference {ref[same]}); our top-2 margin there {margin:.4f}")
        else:
            print(f"{p['name']}: all {n} tokens equal")
    print(f"{full}/{len(prompts)} prompts agree on all {N_TOKENS} greedy tokens")
