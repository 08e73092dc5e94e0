"""Driver of bench/session_chat.sh: a 5-turn chat of two interleaved
conversations against ggufd (with and without sessions) and llama-server.

Imports the ggufd.v1 stubs that session_chat.sh generates from proto/ into
bench/.cache/pystubs (on PYTHONPATH), not the installed Python client.
    python3 bench/session_chat.py --grpc HOST:PORT [--ggufd-pid PID]
        [--llama NAME=PORT[=PID] ...] [--modes sessions,no-sessions,llama]
"""
import argparse
import http.client
import json
import os
import statistics
import sys
import time

MODES = ("sessions", "no-sessions", "llama")

# User turns of ~60-150 tokens: a gardening chat and a database chat, so the
# two histories share nothing past the system prompt's first words.
CONVERSATIONS = {
    "A": [
        "I just moved into an apartment with a south-facing balcony, roughly two "
        "meters by one meter, and I would like to grow some vegetables this summer. "
        "I have never gardened before. The balcony gets about six hours of direct "
        "sun, and it can get windy in the afternoon. Which vegetables would you "
        "suggest for a beginner, and how many containers do you think fit in that "
        "space without blocking the door?",
        "Thanks. Let's say I go with cherry tomatoes, basil, lettuce and a couple of "
        "pepper plants. What size of pots should I buy for each of them, and does the "
        "material matter? I have seen cheap black plastic pots, terracotta, and fabric "
        "grow bags at the garden center. I am worried that black plastic will overheat "
        "in full sun, and terracotta seems heavy for a balcony. Please give me a short "
        "list with the volume in liters for each plant.",
        "Next question is about soil and feeding. The bag of potting mix I found says "
        "'N-P-K 14-16-18, lasts up to 6 weeks'. After that, should I use a liquid "
        "fertilizer, and how often? A neighbour told me to mix in 20% compost and a "
        "handful of perlite per pot; another said coffee grounds are enough. Also, my "
        "tap water is quite hard (around 300 ppm). Could that be a problem for "
        "tomatoes or basil over a whole season?",
        "Watering is where I expect to fail, because I travel for work two or three "
        "days every other week. I was thinking about self-watering containers, or a "
        "cheap drip kit with a timer connected to the outside tap, or simply wicking "
        "strings from a bucket. Which of these is the most reliable for a balcony "
        "this small, and roughly how much water would four tomato plants need per "
        "day in July when it is 30 °C?",
        "Last one: pests. Last year my neighbour had aphids on her peppers and "
        "something that ate holes in the lettuce overnight, probably slugs, even on "
        "the third floor. I would prefer not to use chemical sprays since I want to "
        "eat the leaves straight from the pot. What can I do to prevent these "
        "problems, and what should I check every morning? Please finish with a "
        "one-paragraph summary of the whole plan.",
    ],
    "B": [
        "Our web application has a page that lists orders for a customer, and it "
        "became very slow after the table grew to about 40 million rows. The query "
        "is: SELECT id, created_at, total_cents, status FROM orders WHERE "
        "customer_id = $1 AND status <> 'cancelled' ORDER BY created_at DESC LIMIT "
        "50; It takes 2.3 seconds on PostgreSQL 15. There is an index on "
        "customer_id only. What would you look at first?",
        "Here is the EXPLAIN (ANALYZE, BUFFERS) output, shortened: Limit (actual "
        "time=2301.4..2301.6 rows=50) -> Sort (Sort Key: created_at DESC, Sort "
        "Method: top-N heapsort Memory: 32kB) -> Bitmap Heap Scan on orders "
        "(rows=181234) Recheck Cond: (customer_id = 4711) Filter: (status <> "
        "'cancelled') Rows Removed by Filter: 9120 Heap Blocks: exact=90311. So it "
        "reads ninety thousand blocks for one customer. Does a composite index help "
        "here, and in which column order?",
        "I created the index CONCURRENTLY on (customer_id, created_at DESC) and the "
        "query now runs in 4 ms for most customers. However, two very large "
        "customers, with more than a million orders each, still take around 800 ms "
        "when the first page is mostly cancelled orders. Would a partial index WHERE "
        "status <> 'cancelled' be better, or should we change the query? We also "
        "have a feature that lets users jump to page 200.",
        "About pagination: the frontend currently sends ?page=200&per_page=50 and the "
        "backend uses OFFSET 9950. I read that keyset pagination avoids that, using "
        "the last seen created_at and id as a cursor. Our API is public, though, and "
        "some clients store page numbers in bookmarks. How would you migrate without "
        "breaking them? A rough plan with the API changes and the SQL for the "
        "next-page query would help.",
        "Finally, to make sure this does not happen again, what should we monitor? "
        "We run PostgreSQL on a managed service with pg_stat_statements enabled, and "
        "we have Grafana. I would like two or three alerts that would have caught "
        "this slowdown early, with thresholds that do not page someone at 3 a.m. for "
        "nothing. Please end with a short checklist we can add to our code review "
        "template for new queries.",
    ],
}
TURNS = len(CONVERSATIONS["A"])
# Banned so every answer is exactly --answer-tokens long and plain text:
# SmolLM2's <|endoftext|>, <|im_start|>, <|im_end|> (ids looked up below).
BANNED_TEXTS = ("<|endoftext|>", "<|im_start|>", "<|im_end|>")


# Share of the CPUs other processes may take during a run before its times
# count as noisy.
NOISY = 0.05


class Failure(Exception):
    pass


def system_prompt(tag):
    # The tag comes first so no two runs share more than a few tokens (and
    # no server can reuse an earlier run's cache).
    return f"Run {tag}. You are a helpful assistant. Answer clearly and concisely."


def rss_bytes(pid):
    if not pid:
        return None
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return None


class CpuMeter:
    """CPU time the machine spent outside this benchmark's processes."""

    def __init__(self, pids):
        self.pids = [os.getpid()] + [p for p in pids if p]
        self.start, self.wall = self.sample(), time.monotonic()

    def sample(self):
        with open("/proc/stat") as f:
            fields = [int(x) for x in f.readline().split()[1:]]
        busy = sum(fields) - fields[3] - fields[4]  # minus idle, iowait
        ours = 0
        for pid in self.pids:
            try:
                with open(f"/proc/{pid}/stat") as f:
                    stat = f.read().rsplit(")", 1)[1].split()
                ours += sum(int(x) for x in stat[11:15])  # utime stime cutime cstime
            except OSError:
                pass
        return busy - ours

    def other(self):
        """(CPU seconds, share of all CPUs) used by others since start."""
        ticks = os.sysconf("SC_CLK_TCK")
        seconds = (self.sample() - self.start) / ticks
        # The two clocks round differently: a quiet machine can come out
        # slightly negative.
        seconds = max(seconds, 0.0)
        return seconds, seconds / ((time.monotonic() - self.wall) * os.cpu_count())


class Ggufd:
    def __init__(self, target, pid, answer_tokens):
        import grpc
        from ggufd.v1 import (generation_options_pb2, inference_pb2,
                              inference_pb2_grpc, sessions_pb2,
                              sessions_pb2_grpc, diagnostics_pb2,
                              diagnostics_pb2_grpc)
        self.grpc, self.opt, self.inf, self.ses, self.diag = (
            grpc, generation_options_pb2, inference_pb2, sessions_pb2, diagnostics_pb2)
        self.channel = grpc.insecure_channel(target)
        grpc.channel_ready_future(self.channel).result(timeout=60)
        self.inference = inference_pb2_grpc.InferenceStub(self.channel)
        self.sessions = sessions_pb2_grpc.SessionsStub(self.channel)
        self.diagnostics = diagnostics_pb2_grpc.DiagnosticsStub(self.channel)
        self.pid = pid
        self.answer_tokens = answer_tokens
        self.banned = []
        for text in BANNED_TEXTS:
            ids = self.inference.Tokenize(inference_pb2.TokenizeRequest(
                text=text, add_special=False, parse_special=True), timeout=60).ids
            if len(ids) != 1:
                raise Failure(f"Tokenize({text!r}, parse_special) = {list(ids)}: "
                              "not one special token")
            self.banned.append(ids[0])

    def count_tokens(self, text):
        return len(self.inference.Tokenize(self.inf.TokenizeRequest(
            text=text, add_special=False), timeout=60).ids)

    def generate(self, messages, session_id="", max_tokens=None):
        """Returns a turn record: ttft_ms (client), the Started fields, the
        answer text and the server's timings."""
        inf, opt = self.inf, self.opt
        n = max_tokens or self.answer_tokens
        request = inf.GenerateRequest(
            chat=inf.ChatPrompt(messages=[inf.ChatMessage(role=r, content=c)
                                          for r, c in messages]),
            sampling=opt.SamplingParams(
                temperature=0, seed=1,
                logit_bias=opt.LogitBiasList(entries=[
                    opt.LogitBias(token=t, bias=float("-inf")) for t in self.banned])),
            stopping=opt.StoppingParams(max_tokens=n),
            output=inf.OutputOptions(token_ids=True),
            session_id=session_id)
        start = time.perf_counter()
        first = started = finished = None
        text, ids = [], []
        try:
            for event in self.inference.Generate(request, timeout=600):
                kind = event.WhichOneof("event")
                if kind == "started":
                    started = event.started
                elif kind == "chunk":
                    if first is None and event.chunk.tokens:
                        first = time.perf_counter()
                    text.append(event.chunk.text)
                    ids += [t.id for t in event.chunk.tokens]
                elif kind == "finished":
                    finished = event.finished
        except self.grpc.RpcError as e:
            raise Failure(f"Generate(session_id={session_id!r}): {e.code().name}: "
                          f"{e.details()}") from None
        if started is None or finished is None or first is None:
            raise Failure(f"Generate(session_id={session_id!r}): stream without "
                          "Started, Finished or a token")
        if len(ids) != n:
            raise Failure(
                f"Generate(session_id={session_id!r}): {len(ids)} tokens, asked for {n} "
                f"(finish reason {self.inf.FinishReason.Name(finished.reason)})")
        t = finished.timings
        return {
            "ttft_ms": (first - start) * 1e3,
            "prompt_tokens": started.prompt_tokens,
            "cached_tokens": started.cached_tokens,
            "session_cache": (self.inf.SessionCache.Name(started.session_cache)
                              .removeprefix("SESSION_CACHE_")),
            "session_tokens": started.session_tokens,
            "started_session_id": started.session_id,
            "server_first_token_ms": t.first_token_ms,
            "prefill_ms": t.prefill_ms,
            "queue_ms": t.queue_wait_ms,
            "text": "".join(text),
        }

    def list_sessions(self):
        try:
            return self.sessions.ListSessions(self.ses.ListSessionsRequest(), timeout=60)
        except self.grpc.RpcError as e:
            raise Failure(f"ListSessions: {e.code().name}: {e.details()}") from None

    def delete_session(self, session_id):
        try:
            return self.sessions.DeleteSession(
                self.ses.DeleteSessionRequest(session_id=session_id), timeout=60).found
        except self.grpc.RpcError as e:
            raise Failure(f"DeleteSession({session_id}): {e.code().name}: "
                          f"{e.details()}") from None

    def counters(self):
        return self.diagnostics.GetStatus(self.diag.GetStatusRequest(fresh=True),
                                          timeout=60)

    def close(self):
        self.channel.close()


class LlamaServer:
    def __init__(self, name, port, pid, answer_tokens, banned):
        self.name, self.port, self.pid = name, int(port), pid
        self.answer_tokens = answer_tokens
        self.banned = banned

    def post(self, path, body):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
        conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        return conn, conn.getresponse()

    def token_ids(self, text):
        conn, response = self.post("/tokenize", {"content": text, "add_special": False,
                                                 "parse_special": True})
        body = response.read()
        conn.close()
        if response.status != 200:
            raise Failure(f"llama-server /tokenize: HTTP {response.status} {body[:300]!r}")
        return json.loads(body)["tokens"]

    def generate(self, messages, max_tokens=None):
        n = max_tokens or self.answer_tokens
        body = {"messages": [{"role": r, "content": c} for r, c in messages],
                "stream": True, "max_tokens": n, "cache_prompt": True,
                "temperature": 0, "top_k": 1, "seed": 1,
                "logit_bias": [[t, False] for t in self.banned]}
        start = time.perf_counter()
        conn, response = self.post("/v1/chat/completions", body)
        if response.status != 200:
            raise Failure(f"llama-server {self.name} /v1/chat/completions: HTTP "
                          f"{response.status} {response.read()[:300]!r}")
        first, text, timings, finish = None, [], None, None
        for line in response:
            if not line.startswith(b"data: "):
                continue
            payload = line[6:].strip()
            if payload == b"[DONE]":
                break
            event = json.loads(payload)
            if "error" in event:
                raise Failure(f"llama-server {self.name}: {event['error']}")
            for choice in event.get("choices", []):
                content = (choice.get("delta") or {}).get("content")
                if content:
                    if first is None:
                        first = time.perf_counter()
                    text.append(content)
                finish = choice.get("finish_reason") or finish
            timings = event.get("timings", timings)
        conn.close()
        if first is None or timings is None:
            raise Failure(f"llama-server {self.name}: stream without content or timings")
        if timings.get("predicted_n") != n:
            raise Failure(f"llama-server {self.name}: {timings.get('predicted_n')} tokens, "
                          f"asked for {n} (finish_reason {finish})")
        cached = timings.get("cache_n", 0)
        return {
            "ttft_ms": (first - start) * 1e3,
            "prompt_tokens": timings.get("prompt_n", 0) + cached,
            "cached_tokens": cached,
            "server_first_token_ms": timings.get("prompt_ms"),
            "prefill_ms": timings.get("prompt_ms"),
            "text": "".join(text),
        }


def run_chat(label, tag, turn_fn):
    """Runs A1 B1 ... A5 B5; turn_fn(conv, turn, history, tag) -> record."""
    histories = {c: [("system", system_prompt(f"{tag}-{c}"))] for c in CONVERSATIONS}
    records = []
    for turn in range(TURNS):
        for conv, users in CONVERSATIONS.items():
            histories[conv].append(("user", users[turn]))
            record = turn_fn(conv, turn, histories[conv], f"{tag}-{conv}")
            histories[conv].append(("assistant", record["text"]))
            record.update(mode=label, conv=conv, turn=turn + 1)
            records.append(record)
    return records


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--grpc", help="ggufd address (host:port)")
    parser.add_argument("--ggufd-pid", type=int, default=0)
    parser.add_argument("--llama", action="append", default=[],
                        help="NAME=PORT[=PID] of a llama-server (repeatable)")
    parser.add_argument("--reps", type=int, default=3)
    parser.add_argument("--answer-tokens", type=int, default=48)
    parser.add_argument("--threads", default="?")
    parser.add_argument("--ctx", default="?")
    parser.add_argument("--modes", default=",".join(MODES))
    parser.add_argument("--dump", help="write every turn's record (JSON) here")
    args = parser.parse_args()
    modes = args.modes.split(",")
    wall = time.perf_counter()

    ggufd = None
    if args.grpc and ({"sessions", "no-sessions"} & set(modes)):
        ggufd = Ggufd(args.grpc, args.ggufd_pid, args.answer_tokens)
    llamas = []
    if "llama" in modes:
        for spec in args.llama:
            name, port, *pid = spec.split("=")
            llamas.append(LlamaServer(name, port, int(pid[0]) if pid else 0,
                                      args.answer_tokens, []))
    if llamas:
        banned = ggufd.banned if ggufd else [
            llamas[0].token_ids(t)[0] for t in BANNED_TEXTS]
        for server in llamas:
            server.banned = banned

    # Token counts of the user turns (for the record: the brief wants 60-150).
    if ggufd:
        sizes = {c: [ggufd.count_tokens(u) for u in us] for c, us in CONVERSATIONS.items()}
        print("user turn tokens: " + "; ".join(
            f"{c}: {' '.join(map(str, s))}" for c, s in sizes.items()))

    # Warm-up: page in the weights, first allocations.
    warm = [("system", "Warm-up."), ("user", "Say hello.")]
    if ggufd:
        ggufd.generate(warm, max_tokens=8)
        if "sessions" in modes:
            ggufd.generate(warm, session_id="warmup", max_tokens=8)
    for server in llamas:
        server.generate(warm, max_tokens=8)
    if ggufd and "sessions" in modes:
        if not ggufd.delete_session("warmup"):
            raise Failure("DeleteSession(warmup) found = false right after its turn")
    rss0 = rss_bytes(ggufd.pid) if ggufd else None

    sides = []
    # Tags: digits only, so every mode's system prompt has the same length.
    # sessions and no-sessions share theirs, so their answers can be compared
    # (different prompts for the llama-servers: their prompt caches outlive a
    # run).
    if ggufd and "sessions" in modes:
        sides.append(("sessions", lambda rep: run_chat(
            "sessions", f"{rep}0", lambda conv, turn, history, sid: ggufd.generate(
                history[-1:] if turn else history, session_id=sid))))
    if ggufd and "no-sessions" in modes:
        sides.append(("no-sessions", lambda rep: run_chat(
            "no-sessions", f"{rep}0",
            lambda conv, turn, history, sid: ggufd.generate(history))))
    for k, server in enumerate(llamas, 1):
        sides.append((f"llama-server {server.name}", lambda rep, s=server, k=k: run_chat(
            f"llama-server {s.name}", f"{rep}{k}",
            lambda conv, turn, history, sid: s.generate(history))))

    cpu_meter = CpuMeter([ggufd.pid if ggufd else 0] + [s.pid for s in llamas])
    records, rss_steps, session_ids = [], [], []
    for rep in range(1, args.reps + 1):
        # Rotate the order so no mode always runs first.
        shift = (rep - 1) % len(sides)
        for label, run in sides[shift:] + sides[:shift]:
            before = rss_bytes(ggufd.pid) if ggufd else None
            t0 = time.perf_counter()
            run_meter = CpuMeter(cpu_meter.pids)
            run_records = run(rep)
            _, share = run_meter.other()
            for r in run_records:
                r.update(rep=rep, other_cpu=share)
            records += run_records
            if label == "sessions":
                rss_steps.append(rss_bytes(ggufd.pid) - before if before else None)
                session_ids += [f"{rep}0-{c}" for c in CONVERSATIONS]
            print(f"  run {rep} {label}: {time.perf_counter() - t0:.1f} s, other processes "
                  f"{share:.0%} of the CPUs", file=sys.stderr)

    if args.dump:
        with open(args.dump, "w") as f:
            json.dump(records, f, indent=1)

    # --- TTFT summary
    labels = [label for label, _ in sides]
    ttft = {label: [r["ttft_ms"] for r in records if r["mode"] == label and r["turn"] > 1]
            for label in labels}
    print(f"\nTTFT of turns 2-{TURNS} (client side, {args.reps} run(s) x 2 conversations x "
          f"{TURNS - 1} turns each), threads {args.threads}, ctx {args.ctx}, answers "
          f"{args.answer_tokens} tokens:")
    # Runs during which other processes took more than NOISY of the CPUs
    # are left out of the "quiet" columns (when some runs were quiet).
    quiet = {label: [r["ttft_ms"] for r in records if r["mode"] == label and r["turn"] > 1
                     and r["other_cpu"] <= NOISY] for label in labels}
    show_quiet = any(quiet.values()) and quiet != ttft
    print("| mode | median ms | mean ms | prompt tok (mean) | evaluated tok (mean) "
          "| sessions / mode (median) |"
          + (" quiet runs: median ms | sessions / mode |" if show_quiet else ""))
    print("|---" * (8 if show_quiet else 6) + "|")
    base = statistics.median(ttft["sessions"]) if ttft.get("sessions") else None
    qbase = statistics.median(quiet["sessions"]) if show_quiet and quiet.get("sessions") else None
    for label in labels:
        rows = [r for r in records if r["mode"] == label and r["turn"] > 1]
        prompt = statistics.mean(r["prompt_tokens"] for r in rows)
        evaluated = statistics.mean(r["prompt_tokens"] - r["cached_tokens"] for r in rows)
        ratio = f"{base / statistics.median(ttft[label]):.3f}" if base else "-"
        med, mean = statistics.median(ttft[label]), statistics.mean(ttft[label])
        line = f"| {label} | {med:.1f} | {mean:.1f} | {prompt:.0f} | {evaluated:.0f} | {ratio} |"
        if show_quiet:
            runs = len({r["rep"] for r in rows if r["other_cpu"] <= NOISY})
            qmed = statistics.median(quiet[label]) if quiet[label] else None
            qratio = f"{qbase / qmed:.3f}" if qbase and qmed else "-"
            line += (f" {qmed:.1f}" if qmed else " -") + f" ({runs} of {args.reps}) | {qratio} |"
        print(line)
    print("(ratio < 1: sessions faster; prompt tok: the conversation so far, history "
          "included for sessions too; evaluated: prompt - cached)")

    # --- per turn, the quietest run of each mode
    last = {}
    for label in labels:
        rows = [r for r in records if r["mode"] == label]
        rep = min(rows, key=lambda r: r["other_cpu"])["rep"]
        last[label] = [r for r in rows if r["rep"] == rep]
    print("\nPer turn (each mode's quietest run): prompt/cached tokens, TTFT ms"
          + (" ; ggufd session cache state, history tokens before the turn"
             if "sessions" in labels else ""))
    head = "| turn | " + " | ".join(labels) + " |"
    print(head)
    print("|---" * (len(labels) + 1) + "|")
    for i in range(2 * TURNS):
        cells = []
        for label in labels:
            r = last[label][i]
            cell = f"{r['prompt_tokens']}/{r['cached_tokens']} {r['ttft_ms']:.0f}"
            if label == "sessions":
                cell += f" {r['session_cache']} h{r['session_tokens']}"
            cells.append(cell)
        r0 = last[labels[0]][i]
        print(f"| {r0['conv']}{r0['turn']} | " + " | ".join(cells) + " |")

    warnings = []
    if "sessions" in labels:
        for r in records:
            if r["mode"] != "sessions":
                continue
            want = "NEW" if r["turn"] == 1 else "HIT"
            if r["session_cache"] != want:
                warnings.append(f"sessions {r['started_session_id']} turn {r['turn']}: "
                                f"session_cache {r['session_cache']}, expected {want} "
                                f"(cached {r['cached_tokens']} of "
                                f"{r['prompt_tokens']}, history {r['session_tokens']})")
        if "no-sessions" in labels:
            same = sum(a["text"] == b["text"] for a, b in zip(
                [r for r in records if r["mode"] == "sessions"],
                [r for r in records if r["mode"] == "no-sessions"]))
            total = sum(r["mode"] == "sessions" for r in records)
            print(f"\nanswers equal, sessions vs no-sessions (same prompts): {same}/{total} "
                  "(a session keeps the KV its answers were decoded with; no-sessions "
                  "prefills them again, which differs in the last bits: greedy answers "
                  "may part)")

    # --- memory
    if ggufd and "sessions" in labels:
        listing = ggufd.list_sessions()
        by_id = {s.id: s for s in listing.sessions}
        missing = [sid for sid in session_ids if sid not in by_id]
        if missing:
            raise Failure(f"ListSessions lacks {missing}; has {sorted(by_id)}")
        print(f"\nSessions (ListSessions: {len(listing.sessions)} sessions, kv_bytes "
              f"{listing.kv_bytes}, budget {listing.kv_budget_bytes}):")
        print("| session | turns | tokens | cached | kv_bytes | kv bytes / cached token |")
        print("|---|---|---|---|---|---|")
        for s in listing.sessions:
            per = f"{s.kv_bytes / s.cached_tokens:.0f}" if s.cached_tokens else "-"
            print(f"| {s.id} | {s.turns} | {s.tokens} | {s.cached_tokens} | "
                  f"{s.kv_bytes} | {per} |")
        rss1 = rss_bytes(ggufd.pid)
        mine = [by_id[sid] for sid in session_ids]
        kv_mean = statistics.mean(s.kv_bytes for s in mine)
        per_token = sum(s.kv_bytes for s in mine) / sum(s.cached_tokens for s in mine)
        print(f"memory per session: ListSessions kv_bytes {kv_mean / 2**20:.2f} MiB on average "
              f"({per_token:.0f} bytes per cached token)", end="")
        steps = [s for s in rss_steps if s is not None]
        if steps:
            print(f"; ggufd RSS growth {statistics.mean(steps) / len(CONVERSATIONS) / 2**20:.2f}"
                  f" MiB (over each sessions run: "
                  + ", ".join(f"{s / 2**20:+.1f}" for s in steps)
                  + f" MiB for {len(CONVERSATIONS)} sessions)", end="")
        print()
        if rss0 is not None and rss1 is not None:
            print(f"ggufd RSS: {rss0 / 2**20:.1f} MiB after warm-up, {rss1 / 2**20:.1f} MiB "
                  f"with {len(listing.sessions)} sessions")
        for sid in session_ids:
            if not ggufd.delete_session(sid):
                raise Failure(f"DeleteSession({sid}) found = false")
        after = ggufd.list_sessions()
        rss2 = rss_bytes(ggufd.pid)
        print(f"after DeleteSession of all {len(session_ids)}: ListSessions "
              f"{len(after.sessions)} sessions, kv_bytes {after.kv_bytes}"
              + (f"; RSS {rss2 / 2**20:.1f} MiB" if rss2 else ""))
        if after.kv_bytes != 0 or after.sessions:
            # ListSessions answers from a snapshot: stale for a moment, or
            # never updated?
            time.sleep(1)
            later = ggufd.list_sessions()
            left = [(s.id, s.tokens, s.kv_bytes) for s in later.sessions]
            if left or later.kv_bytes:
                raise Failure(f"every session deleted (found = true), yet ListSessions "
                              f"still lists {left}, kv_bytes {later.kv_bytes}, 1 s later")
            warnings.append(
                f"right after deleting every session ListSessions still listed "
                f"{[(s.id, s.tokens, s.kv_bytes) for s in after.sessions]}, kv_bytes "
                f"{after.kv_bytes} (empty 1 s later)")
    if ggufd:
        status = ggufd.counters()
        c = status.counters
        print(f"ggufd counters: generations {c.generations}, prompt_tokens {c.prompt_tokens}, "
              f"cached_tokens {c.cached_tokens}, prefilled_tokens {c.prefilled_tokens}, "
              f"session_evictions {c.session_evictions}; kv_cache_bytes "
              f"{status.kv_cache_bytes}")
        ggufd.close()
    if any(s.pid for s in llamas):
        print("llama-server RSS at the end: " + ", ".join(
            f"{s.name} {rss_bytes(s.pid) / 2**20:.1f} MiB" for s in llamas if s.pid))
    if not llamas and "llama" in modes:
        print("\nllama-server: skipped (native build absent)")
    # Other work on the machine skews every figure (the servers share the
    # cores with it): say how much there was.
    other, share = cpu_meter.other()
    print(f"other processes' CPU time during the runs: {other:.1f} s "
          f"({share:.0%} of the machine)")
    if share > NOISY:
        warnings.append(f"other processes used {share:.0%} of the CPUs during the runs: "
                        "the times are noisy, run again on a quiet machine")
    for w in warnings:
        print("warning:", w)
    print(f"\n(wall {time.perf_counter() - wall:.0f} s)")


if __name__ == "__main__":
    try:
        main()
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        sys.exit(1)
