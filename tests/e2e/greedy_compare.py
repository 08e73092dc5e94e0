"""Greedy decoding of one model by ggufd and by the reference on the prompts
of tests/data/prompts.json, for the reference-comparison tests."""
import json
import subprocess


def steps(run):
    """Per generated position: (id, top list), including the end-of-generation
    token ggufd does not emit as text."""
    out = [(t["id"], t["top"]) for t in run["logprobs"]]
    if "end_token" in run:
        out.append((run["end_token"]["id"], run["end_token"]["top"]))
    return out


def ggufd_greedy(ggufd_bin, model, text, n_tokens, threads):
    proc = subprocess.run(
        [str(ggufd_bin), "run", "-m", str(model), "-p", text, "-n", str(n_tokens),
         "--temp", "0", "--logprobs", "20", "--threads", str(threads), "--json"],
        capture_output=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr.decode("utf-8", "replace")
    return json.loads(proc.stdout)


def greedy_runs(ggufd_bin, model, reference, repo_root, n_tokens, threads):
    """(prompts, ggufd's runs, the reference's runs), in prompt order."""
    prompts = json.loads((repo_root / "tests" / "data" / "prompts.json").read_text())
    theirs = reference("greedy", "--model", model, "--n", n_tokens,
                       "--top", 20, "--threads", threads,
                       stdin=[p["text"] for p in prompts])
    ours = [ggufd_greedy(ggufd_bin, model, p["text"], n_tokens, threads)
            for p in prompts]
    return prompts, ours, theirs


def count_full_matches(prompts, ours, theirs, n_tokens):
    """How many prompts' greedy ids equal the reference's over n_tokens,
    printing where each other one diverges and our top-2 margin there."""
    full = 0
    for p, o, t in zip(prompts, ours, theirs):
        ours_steps = steps(o)
        ids = [i for i, _ in ours_steps][:n_tokens]
        ref = t["ids"][:n_tokens]
        # ggufd stops at end-of-generation (its last step is that token); the
        # reference keeps going, so compare the steps ggufd took.
        n = len(ids)
        same = next((i for i in range(n) if ids[i] != ref[i]), n)
        if same == n:
            full += 1
            print(f"{p['name']}: all {n} tokens equal ({o['finish_reason']})")
        else:
            lp = ours_steps[same][1]
            margin = lp[0][1] - lp[1][1] if len(lp) > 1 else float("nan")
            print(f"{p['name']}: diverges at token {same} (ours {ids[same]}, "
                  f"reference {ref[same]}); our top-2 margin there {margin:.4f}")
    print(f"{full}/{len(prompts)} prompts agree on all {n_tokens} greedy tokens")
    return full


def check_last_position(prompts, ours, theirs, max_logprob_diff):
    """At the last prompt position: equal prompt ids, equal top-1, top-10
    ids overlapping in at least 9, and every shared top-10 logprob within
    max_logprob_diff; returns the largest difference seen."""
    worst = 0.0
    for p, o, t in zip(prompts, ours, theirs):
        assert o["prompt_ids"] == t["prompt_ids"], p["name"]
        our_top = steps(o)[0][1]
        their_top = t["top"]
        assert our_top[0][0] == their_top[0][0], f"{p['name']}: top-1 differs"
        overlap = len({i for i, _ in our_top[:10]} & {i for i, _ in their_top[:10]})
        assert overlap >= 9, f"{p['name']}: top-10 overlap {overlap}"
        theirs_by_id = {i: lp for i, lp in their_top if lp is not None}
        diff = max(abs(lp - theirs_by_id[i]) for i, lp in our_top[:10] if i in theirs_by_id)
        worst = max(worst, diff)
        print(f"{p['name']}: top-10 overlap {overlap}, max |dlogprob| {diff:.2e}")
        assert diff <= max_logprob_diff, f"{p['name']}: |dlogprob| {diff}"
    print(f"largest |logprob difference| over all prompts (top-10): {worst:.2e}")
    return worst
