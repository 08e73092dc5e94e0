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
