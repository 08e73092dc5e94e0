"""Greedy decoding of the default model against llama.cpp (node-llama-cpp).

For each prompt in tests/data/prompts.json both implementations decode 32
tokens at temperature 0. The suite requires, per the runtime issue:
- the prompt tokenizes to the same ids;
- at the last prompt position, the top-1 token is equal and the top-10 ids
  overlap in at least 9 (the largest |logprob difference| is reported);
- at least 10 prompts agree on all 32 greedy tokens.
Near-ties are real: a quantized 135M model can flip between two tokens whose
logits differ by less than the rounding noise of two correct implementations,
so the report names every divergence with its margin."""
import pytest

from greedy_compare import count_full_matches, greedy_runs, steps

N_TOKENS = 32
MIN_FULL_MATCHES = 10


@pytest.fixture(scope="module")
def runs(ggufd_bin, default_model, reference, repo_root):
    return greedy_runs(ggufd_bin, default_model, reference, repo_root,
                       N_TOKENS, threads=1)


def test_prompt_ids_match(runs):
    prompts, ours, theirs = runs
    for p, o, t in zip(prompts, ours, theirs):
        assert o["prompt_ids"] == t["prompt_ids"], p["name"]


def test_last_position_distribution_agrees(runs):
    prompts, ours, theirs = runs
    worst = 0.0
    for p, o, t in zip(prompts, ours, theirs):
        our_top = steps(o)[0][1]
        their_top = t["top"]
        assert our_top[0][0] == their_top[0][0], f"{p['name']}: top-1 differs"
        overlap = len({i for i, _ in our_top[:10]} & {i for i, _ in their_top[:10]})
        assert overlap >= 9, f"{p['name']}: top-10 overlap {overlap}"
        theirs_by_id = {i: lp for i, lp in their_top if lp is not None}
        diffs = [abs(lp - theirs_by_id[i]) for i, lp in our_top[:10] if i in theirs_by_id]
        worst = max(worst, max(diffs))
        print(f"{p['name']}: top-10 overlap {overlap}, max |dlogprob| {max(diffs):.4f}")
    print(f"largest |logprob difference| over all prompts (top-10): {worst:.4f}")


def test_greedy_tokens_match(runs):
    full = count_full_matches(*runs, N_TOKENS)
    assert full >= MIN_FULL_MATCHES
