#!/usr/bin/env python3
"""Load and soak test of a real `ggufd serve` on loopback.

Keeps 10x the runtime's queue capacity of Generate calls in flight against
one runtime for a bounded time, with a random mix of plain generations,
Cancel RPCs, client-side cancels, deadlines, slow readers, clean
disconnects (the client's connection is closed) and abrupt ones (a raw
HTTP/2 connection reset mid-stream), then checks that:

  * every call ends once: with Finished (nothing after it) or exactly one
    status, its Started naming its own request id;
  * none is lost or duplicated: the server's log has one `rpc` line per
    call it saw (per request id), ggufd_requests_total agrees with the log,
    RESOURCE_EXHAUSTED counts agree, client and server agree on each
    call's code, and GetStatus's generations + dropped commands equal the
    calls admitted;
  * the server's RSS and open descriptors are flat after the storm;
  * after the last cancel the runtime is idle (GetStatus running_operation
    empty, queue empty) within one token time plus RPC slack.

It prints the figures and exits 1 when an invariant fails. Run through
tests/load/run.sh, which generates the stubs from proto/.
"""

import argparse
import asyncio
import collections
import dataclasses
import json
import os
import random
import re
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.request

ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
ap.add_argument("--ggufd", required=True, help="the ggufd binary")
ap.add_argument("--model", required=True, help="a small GGUF (stories260K)")
ap.add_argument("--stubs", required=True, help="generated Python stubs")
ap.add_argument("--seconds", type=float, default=90,
                help="length of the storm (the long soak: 600 or more)")
ap.add_argument("--warmup-seconds", type=float, default=10,
                help="storm before the RSS/descriptor baseline is taken")
ap.add_argument("--queue-capacity", type=int, default=8)
ap.add_argument("--load-factor", type=int, default=10,
                help="calls in flight, as a multiple of the queue capacity")
ap.add_argument("--threads", type=int, default=1,
                help="compute threads of the runtime")
ap.add_argument("--seed", type=int, default=None)
ap.add_argument("--rss-tolerance-mib", type=float, default=8)
ap.add_argument("--fd-tolerance", type=int, default=2)
ap.add_argument("--idle-slack-ms", type=float, default=100,
                help="RPC and scheduling allowance on top of one token")
args = ap.parse_args()
sys.path.insert(0, args.stubs)

import grpc  # noqa: E402
from ggufd.v1 import diagnostics_pb2, diagnostics_pb2_grpc  # noqa: E402
from ggufd.v1 import inference_pb2, inference_pb2_grpc  # noqa: E402

GENERATE_PATH = "/ggufd.v1.Inference/Generate"
# Long enough that an unstopped generation would keep the runtime busy
# well past the idle bound; within stories260K's 2048-token context.
LONG = 2000

failures = []


def check(ok, what):
    if not ok:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)
    return ok


# --- The server -----------------------------------------------------------


class Server:
    def __init__(self):
        self.log_path = tempfile.mktemp(prefix="ggufd-soak-", suffix=".log")
        self.log = open(self.log_path, "w+")
        model = os.path.abspath(args.model)
        self.proc = subprocess.Popen(
            [args.ggufd, "serve", "--listen", "127.0.0.1:0",
             "--metrics-port", "0", "--model", model,
             "--queue-capacity", str(args.queue_capacity),
             "--threads", str(args.threads), "--grace-period-ms", "2000"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=self.log)
        until = time.monotonic() + 60
        while time.monotonic() < until:
            for line in self.lines():
                if line.get("msg") == "listening":
                    self.port = line["port"]
                    self.metrics_port = line["metrics_port"]
                    self.address = f"127.0.0.1:{self.port}"
                    return
            if self.proc.poll() is not None:
                break
            time.sleep(0.05)
        sys.exit(f"ggufd did not start; its log:\n{open(self.log_path).read()}")

    def lines(self):
        out = []
        with open(self.log_path) as f:
            for raw in f:
                try:
                    out.append(json.loads(raw))
                except ValueError:
                    pass  # a line being written
        return out

    def generate_rpcs(self):
        return [l for l in self.lines()
                if l.get("msg") == "rpc" and l.get("method") == "Inference/Generate"]

    def proc_figures(self):
        status = open(f"/proc/{self.proc.pid}/status").read()

        def kib(key):
            return int(re.search(rf"^{key}:\s+(\d+) kB", status, re.M).group(1))

        return {"rss_kib": kib("VmRSS"), "hwm_kib": kib("VmHWM"),
                "fds": len(os.listdir(f"/proc/{self.proc.pid}/fd")),
                "threads": int(re.search(r"^Threads:\s+(\d+)", status, re.M).group(1))}

    def metrics(self):
        """ggufd_requests_total as {(method, code): value}."""
        url = f"http://127.0.0.1:{self.metrics_port}/metrics"
        text = urllib.request.urlopen(url, timeout=10).read().decode()
        out = {}
        for m in re.finditer(r"^ggufd_requests_total\{([^}]*)\} (\S+)$", text, re.M):
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
            out[(labels["method"], labels["code"])] = float(m.group(2))
        return out

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.log.close()
        os.unlink(self.log_path)


# --- One call -------------------------------------------------------------


@dataclasses.dataclass
class Call:
    id: str
    action: str
    max_tokens: int
    code: str = ""            # the final status, or "ABORTED" (raw reset)
    started: int = 0
    finished: int = 0
    events_after_finished: int = 0
    started_id: str = ""
    reason: str = ""          # Finished.reason
    completion_tokens: int = -1
    decode_ms: float = 0.0
    tokens_seen: int = 0      # tokens received (with output.token_ids)
    cancel_found: bool | None = None  # what the Cancel RPC answered
    trigger_fired: bool = False       # the cancel began


def request(call_id, max_tokens, token_ids=False):
    r = inference_pb2.GenerateRequest(request_id=call_id, text="Once upon a time")
    r.output.token_ids = token_ids
    r.sampling.temperature = 0.8
    r.sampling.seed = random.getrandbits(32)
    r.stopping.max_tokens = max_tokens
    r.stopping.ignore_eos = True
    return r


def take(call, event):
    if call.finished:
        call.events_after_finished += 1
    kind = event.WhichOneof("event")
    if kind == "started":
        call.started += 1
        call.started_id = event.started.request_id
    elif kind == "chunk":
        call.tokens_seen += len(event.chunk.tokens)
    elif kind == "finished":
        call.finished += 1
        call.reason = inference_pb2.FinishReason.Name(event.finished.reason)
        call.completion_tokens = event.finished.usage.completion_tokens
        call.decode_ms = event.finished.timings.decode_ms


async def run_grpc(stub, call, timeout=None, trigger=None, slow=False):
    """Reads a Generate to its end; `trigger(grpc_call)` runs concurrently
    (a cancel after a delay)."""
    rpc = stub.Generate(request(call.id, call.max_tokens), timeout=timeout)
    side = asyncio.ensure_future(trigger(rpc)) if trigger else None
    try:
        async for event in rpc:
            take(call, event)
            if slow:
                await asyncio.sleep(0.02)
        call.code = "OK"
    except grpc.aio.AioRpcError as e:
        call.code = e.code().name
    except asyncio.CancelledError:
        # grpc.aio reports a call cancelled by this client this way.
        call.code = "CANCELLED"
    if side:
        # A cancel still waiting for its moment is dropped; one under way
        # (a Cancel RPC) completes, so both sides count it.
        if not call.trigger_fired:
            side.cancel()
        try:
            await side
        except (asyncio.CancelledError, grpc.aio.AioRpcError):
            pass


async def run_abort(port, call, delay):
    """A Generate over a hand-written HTTP/2 connection that is reset (TCP
    RST, no RST_STREAM or GOAWAY) after `delay`: the abrupt disconnect of
    a crashed client or a dropped network path."""
    def hpack_int(n, prefix_bits, first=0):
        limit = (1 << prefix_bits) - 1
        if n < limit:
            return bytes([first | n])
        out, n = [first | limit], n - limit
        while n >= 128:
            out.append((n & 127) | 128)
            n >>= 7
        return bytes(out + [n])

    def literal(name, value):  # literal header field without indexing
        name, value = name.encode(), value.encode()
        return (b"\x00" + hpack_int(len(name), 7) + name +
                hpack_int(len(value), 7) + value)

    def frame(kind, flags, stream, payload):
        return (len(payload).to_bytes(3, "big") + bytes([kind, flags]) +
                stream.to_bytes(4, "big") + payload)

    block = b"".join(literal(k, v) for k, v in [
        (":method", "POST"), (":scheme", "http"), (":path", GENERATE_PATH),
        (":authority", f"127.0.0.1:{port}"), ("content-type", "application/grpc"),
        ("te", "trailers")])
    message = request(call.id, call.max_tokens).SerializeToString()
    body = b"\x00" + len(message).to_bytes(4, "big") + message
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + frame(4, 0, 0, b"") +
                 frame(1, 0x4, 1, block) + frame(0, 0x1, 1, body))
    await writer.drain()

    async def read_frames():
        while True:
            head = await reader.readexactly(9)
            size = int.from_bytes(head[:3], "big")
            await reader.readexactly(size)
            kind, flags = head[3], head[4]
            if kind == 4 and not flags & 1:  # SETTINGS: acknowledge
                writer.write(frame(4, 1, 0, b""))
            elif kind == 1 and int.from_bytes(head[5:9], "big") == 1:
                if flags & 1:  # END_STREAM: trailers
                    # Trailers alone, before any response, are a refusal:
                    # the one this request can get is a full queue. After
                    # the response, the call ended before the reset.
                    call.code = "ENDED" if call.started else "RESOURCE_EXHAUSTED"
                    return
                call.started += 1  # the response headers come with Started

    try:
        await asyncio.wait_for(read_frames(), delay)
    except (asyncio.TimeoutError, asyncio.IncompleteReadError, ConnectionError):
        pass
    # SO_LINGER 0: close() resets the connection.
    sock = writer.get_extra_info("socket")
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
    if not call.code:
        call.code = "ABORTED"


# --- The storm ------------------------------------------------------------

ACTIONS = [  # (action, weight)
    ("complete", 30), ("cancel_rpc", 18), ("client_cancel", 15),
    ("deadline", 15), ("disconnect", 10), ("abort", 6), ("slow", 6)]


class Storm:
    def __init__(self, server):
        self.server = server
        self.calls = []
        self.cancels = 0      # Cancel RPCs sent
        self.serial = 0
        self.channel = grpc.aio.insecure_channel(server.address)
        self.stub = inference_pb2_grpc.InferenceStub(self.channel)
        self.diag = diagnostics_pb2_grpc.DiagnosticsStub(self.channel)

    def new_call(self, action, max_tokens):
        self.serial += 1
        call = Call(f"soak-{self.serial}", action, max_tokens)
        self.calls.append(call)
        return call

    async def cancel_rpc(self, call_id):
        self.cancels += 1
        response = await self.stub.Cancel(
            inference_pb2.CancelRequest(request_id=call_id), timeout=30)
        return response.found

    async def one(self):
        action = random.choices([a for a, _ in ACTIONS], [w for _, w in ACTIONS])[0]
        long = action not in ("complete", "slow")
        call = self.new_call(action, random.randint(200, LONG) if long
                             else random.randint(1, 120))
        delay = random.uniform(0.02, 0.4)

        async def after_delay(fn):
            await asyncio.sleep(delay)
            call.trigger_fired = True
            await fn()

        if action in ("complete", "slow"):
            await run_grpc(self.stub, call, timeout=120, slow=action == "slow")
        elif action == "cancel_rpc":
            async def cancel():
                call.cancel_found = await self.cancel_rpc(call.id)
            await run_grpc(self.stub, call, timeout=120,
                           trigger=lambda rpc: after_delay(cancel))
        elif action == "client_cancel":
            async def trigger(rpc):
                await asyncio.sleep(delay)
                call.trigger_fired = True
                rpc.cancel()
            await run_grpc(self.stub, call, timeout=120, trigger=trigger)
        elif action == "deadline":
            await run_grpc(self.stub, call, timeout=random.uniform(0.05, 0.6))
        elif action == "disconnect":
            # Its own connection (a private subchannel pool), closed under it.
            channel = grpc.aio.insecure_channel(
                self.server.address, options=[("grpc.use_local_subchannel_pool", 1)])
            stub = inference_pb2_grpc.InferenceStub(channel)
            try:
                await run_grpc(stub, call, timeout=120,
                               trigger=lambda rpc: after_delay(lambda: channel.close(None)))
            finally:
                await channel.close(None)
        elif action == "abort":
            await run_abort(self.server.port, call, delay)
        return call

    async def client(self, until):
        while time.monotonic() < until:
            call = await self.one()
            if call.code == "RESOURCE_EXHAUSTED":
                # Enough retries to keep the queue full at all times, few
                # enough that this one Python thread keeps its timing.
                await asyncio.sleep(random.uniform(0.02, 0.2))

    async def run(self, seconds, sampler=None):
        until = time.monotonic() + seconds
        clients = [self.client(until) for _ in range(args.queue_capacity * args.load_factor)]
        if sampler:
            clients.append(sampler(until))
        await asyncio.gather(*clients)

    async def status(self):
        return await self.diag.GetStatus(diagnostics_pb2.GetStatusRequest(), timeout=30)

    async def wait_idle(self, limit=60):
        until = time.monotonic() + limit
        while time.monotonic() < until:
            s = await self.status()
            if not s.running_operation and s.queue_depth == 0:
                return s
            await asyncio.sleep(0.001)
        return None

    async def last_cancel(self):
        """Fills the runtime (one running, a full queue) with long
        generations, cancels the queued ones in every way, then the running
        one with Cancel, and times how long the runtime takes to go idle."""
        n = args.queue_capacity + 1
        calls = [self.new_call("final", LONG) for _ in range(n)]
        channel = grpc.aio.insecure_channel(
            self.server.address, options=[("grpc.use_local_subchannel_pool", 1)])
        side_stub = inference_pb2_grpc.InferenceStub(channel)
        rpcs, readers = [], []

        async def read(rpc, call):
            try:
                async for event in rpc:
                    take(call, event)
                call.code = "OK"
            except grpc.aio.AioRpcError as e:
                call.code = e.code().name
            except asyncio.CancelledError:
                call.code = "CANCELLED"

        for i, call in enumerate(calls):
            stub = side_stub if i == n - 1 else self.stub
            rpc = stub.Generate(request(call.id, call.max_tokens, token_ids=i == 0),
                                timeout=120)
            rpcs.append(rpc)
            readers.append(asyncio.ensure_future(read(rpc, call)))
            if i == 0:  # the first one runs; the others queue behind it
                while not calls[0].started:
                    await asyncio.sleep(0.001)
        until = time.monotonic() + 30
        while (await self.status()).queue_depth < n - 1 and time.monotonic() < until:
            await asyncio.sleep(0.001)
        filled = await self.status()
        for i in range(1, n - 1):
            if i % 2:
                await self.cancel_rpc(calls[i].id)
            else:
                rpcs[i].cancel()
        await channel.close(None)  # the last queued call: its connection goes
        seen = calls[0].tokens_seen
        start = time.monotonic()
        found = await self.cancel_rpc(calls[0].id)
        idle = await self.wait_idle()
        idle_ms = (time.monotonic() - start) * 1000
        await asyncio.gather(*readers)
        return calls, filled, found, idle, idle_ms, seen


# --- Main -----------------------------------------------------------------


def mib(kib):
    return kib / 1024


async def main():
    seed = args.seed if args.seed is not None else random.randrange(1 << 30)
    random.seed(seed)
    server = Server()
    print(f"ggufd pid {server.proc.pid} on {server.address}, metrics :{server.metrics_port}; "
          f"queue capacity {args.queue_capacity}, {args.queue_capacity * args.load_factor} "
          f"calls in flight; seed {seed}", flush=True)
    storm = Storm(server)
    try:
        await drive(server, storm)
    finally:
        await storm.channel.close(None)
        server.stop()
    if failures:
        print(f"\n{len(failures)} invariant(s) failed:")
        for f in failures:
            print(f"  - {f}")
        return 1
    print("\nall load invariants held")
    return 0


async def drive(server, storm):
    # Warm-up: the same storm, so pools and caches reach their working size
    # before the baseline is taken.
    t0 = time.monotonic()
    await storm.run(args.warmup_seconds)
    check(await storm.wait_idle() is not None, "runtime idle after the warm-up")
    await asyncio.sleep(1)
    base = server.proc_figures()
    base_status = await storm.status()
    base_metrics = server.metrics()
    base_lines = len(server.generate_rpcs())
    base_calls = len(storm.calls)
    base_cancels = storm.cancels
    print(f"warm-up {time.monotonic() - t0:.1f} s, {base_calls} calls; baseline: RSS "
          f"{mib(base['rss_kib']):.1f} MiB, {base['fds']} fds, {base['threads']} threads",
          flush=True)

    samples = []

    async def sampler(until):
        while time.monotonic() < until:
            samples.append((time.monotonic(), server.proc_figures()))
            await asyncio.sleep(1)

    t1 = time.monotonic()
    await storm.run(args.seconds, sampler)
    storm_s = time.monotonic() - t1
    check(await storm.wait_idle() is not None, "runtime idle after the storm")
    final_calls, filled, found, idle, idle_ms, seen = await storm.last_cancel()
    await asyncio.sleep(1)  # let closed connections and their streams go
    after = server.proc_figures()
    status = await storm.status()
    # The server counts a call when its trailers go out, which can trail the
    # client's view of a cancelled call: wait for the totals to settle.
    # Calls the client cut before the server saw them never get a line, so
    # wait until the count stops moving.
    calls = storm.calls[base_calls:]
    until = time.monotonic() + 30
    lines = []
    while True:
        before = len(lines)
        lines = server.generate_rpcs()[base_lines:]
        metrics = server.metrics()
        if (len(lines) >= len(calls) or len(lines) == before or
                time.monotonic() > until):
            break
        await asyncio.sleep(0.5)

    # -- Client side: each call ended once.
    by_action = collections.Counter(c.action for c in calls)
    codes = collections.Counter(c.code for c in calls)
    reasons = collections.Counter(c.reason for c in calls if c.finished)
    bad_end = [c for c in calls if c.finished > 1 or c.started > 1 or
               c.events_after_finished or not c.code]
    wrong_id = [c for c in calls if c.started and c.action != "abort" and
                c.started_id != c.id]
    check(not bad_end, f"calls that did not end exactly once: {bad_end[:3]}")
    check(not wrong_id, f"Started naming another request: {wrong_id[:3]}")
    # A plain call runs to its max_tokens (EOS ignored) and succeeds.
    plain = [c for c in calls if c.action in ("complete", "slow")]
    bad_plain = [c for c in plain if c.code != "RESOURCE_EXHAUSTED" and
                 (c.code != "OK" or c.reason != "FINISH_REASON_MAX_TOKENS" or
                  c.completion_tokens != c.max_tokens)]
    check(not bad_plain, f"plain generations that did not complete: {bad_plain[:3]}")
    unexpected = set(codes) - {"OK", "RESOURCE_EXHAUSTED", "CANCELLED",
                               "DEADLINE_EXCEEDED", "ABORTED", "ENDED"}
    check(not unexpected, f"unexpected codes {unexpected}")
    # A Finished is followed by OK, unless the client cut the call between
    # reading Finished and the trailers.
    check(all(c.code == "OK" or c.action in ("client_cancel", "disconnect", "deadline")
              for c in calls if c.finished),
          "a Finished followed by a failure status")

    # -- Server side: the log's rpc lines, the metrics, GetStatus.
    ids = collections.Counter(l["request_id"] for l in lines if "request_id" in l)
    server_code = {l["request_id"]: l["code"] for l in lines if "request_id" in l}
    server_codes = collections.Counter(l["code"] for l in lines)
    duplicated = [i for i, n in ids.items() if n > 1]
    client_ids = {c.id for c in calls}
    phantom = [i for i in ids if i not in client_ids]
    # Each call the server saw has exactly one line. A call refused with
    # RESOURCE_EXHAUSTED has no id on its line. A call the client cut itself
    # (cancel, disconnect, reset, deadline) may have been refused before the
    # refusal reached the client (a line without id), or, on a loaded
    # machine, cut before the server's handler ever ran (no line; fine, as
    # nothing was admitted). Every other call must match its line by id.
    client_cut = ("client_cancel", "disconnect", "deadline", "abort")
    refused = [c for c in calls if c.code == "RESOURCE_EXHAUSTED"]
    unmatched = [c for c in calls if c.code != "RESOURCE_EXHAUSTED" and c.id not in ids]
    lost = [c for c in unmatched if c.action not in client_cut]
    unseen = len(calls) - len(lines)
    refused_unseen = server_codes["RESOURCE_EXHAUSTED"] - len(refused)
    check(not duplicated, f"request ids the server ended twice: {duplicated[:5]}")
    check(not phantom, f"server calls the client never made: {phantom[:5]}")
    check(not lost, f"calls the server never ended: {len(lost)}, e.g. {lost[:3]}")
    check(unseen >= 0 and refused_unseen >= 0 and
          unseen + refused_unseen == len(unmatched),
          f"server rpc lines {len(lines)} for {len(calls)} client calls; RESOURCE_EXHAUSTED: "
          f"server {server_codes['RESOURCE_EXHAUSTED']}, client {len(refused)}; "
          f"{len(unmatched)} client-cut calls without a line of their own")
    gen = "Inference/Generate"
    metric_delta = collections.Counter()
    for (method, code), v in metrics.items():
        if method == gen:
            metric_delta[code] = int(v - base_metrics.get((method, code), 0))
    check(metric_delta == +server_codes,
          f"ggufd_requests_total {dict(metric_delta)} != log {dict(server_codes)}")
    cancel_ok = int(metrics.get(("Inference/Cancel", "OK"), 0) -
                    base_metrics.get(("Inference/Cancel", "OK"), 0))
    check(cancel_ok == storm.cancels - base_cancels,
          f"Cancel: server {cancel_ok} OK, client sent {storm.cancels - base_cancels}")
    # Where the server decided the outcome, the client must have seen the
    # same; where the client cut the call, the server ends it as cancelled
    # or expired (or OK when the generation was already done).
    disagree = []
    for c in calls:
        s = server_code.get(c.id)
        if s is None:
            continue
        if c.action in ("complete", "slow", "cancel_rpc", "final") and c.code != s:
            disagree.append((c.id, c.action, c.code, s))
        elif c.action in client_cut and s not in ("CANCELLED", "DEADLINE_EXCEEDED", "OK"):
            disagree.append((c.id, c.action, c.code, s))
    check(not disagree, f"client and server disagree on {len(disagree)} calls: {disagree[:4]}")
    c0, c1 = base_status.counters, status.counters
    generations = c1.generations - c0.generations
    dropped = status.commands_dropped - base_status.commands_dropped
    admitted = sum(ids.values())
    check(generations + dropped == admitted,
          f"GetStatus: {generations} generations + {dropped} dropped != {admitted} admitted")
    check(c1.generations_failed == c0.generations_failed, "failed generations")
    check(not status.poisoned and status.max_concurrent_entries == 1,
          f"runtime poisoned={status.poisoned} max_concurrent_entries="
          f"{status.max_concurrent_entries}")

    # -- The last cancel.
    running = final_calls[0]
    decode = [c.decode_ms / (c.completion_tokens - 1) for c in calls
              if c.finished and c.completion_tokens > 20]
    token_ms = sorted(decode)[len(decode) // 2] if decode else 0.0
    check(filled.running_operation == "generate" and
          filled.queue_depth == args.queue_capacity,
          f"the final fill: running {filled.running_operation!r}, queue {filled.queue_depth}")
    check(found and running.reason == "FINISH_REASON_CANCELLED" and
          running.completion_tokens < LONG,
          f"the running generation was not cancelled: {running}")
    check(idle is not None and idle_ms <= token_ms + args.idle_slack_ms,
          f"idle {idle_ms:.1f} ms after the last cancel (one token {token_ms:.3f} ms)")

    # -- Memory and descriptors.
    rss_growth = mib(after["rss_kib"] - base["rss_kib"])
    check(rss_growth <= args.rss_tolerance_mib,
          f"RSS grew {rss_growth:.1f} MiB (tolerance {args.rss_tolerance_mib})")
    check(after["fds"] <= base["fds"] + args.fd_tolerance,
          f"fds {base['fds']} -> {after['fds']}")
    # Flat during the storm too: its last quarter against its first.
    quarter = max(1, len(samples) // 4)
    first_q = max(s["rss_kib"] for _, s in samples[:quarter])
    last_q = max(s["rss_kib"] for _, s in samples[-quarter:])
    trend = mib(last_q - first_q)
    check(trend <= args.rss_tolerance_mib,
          f"RSS trend over the storm {trend:+.1f} MiB")

    # -- Figures.
    n = len(calls)
    started = sum(1 for c in calls if c.started)
    print(f"\nstorm: {storm_s:.1f} s, {n} Generate calls ({n / storm_s:.0f}/s), "
          f"{storm.cancels - base_cancels} Cancel RPCs")
    print("  by action: " + ", ".join(f"{a} {by_action[a]}" for a, _ in ACTIONS + [("final", 0)]))
    print("  client outcomes: " + ", ".join(f"{k} {v}" for k, v in codes.most_common()))
    print("  Finished reasons: " + ", ".join(f"{k.replace('FINISH_REASON_', '')} {v}"
                                            for k, v in reasons.most_common()))
    print("  server rpc lines: " + ", ".join(f"{k} {v}" for k, v in server_codes.most_common())
          + f" (total {len(lines)}; ggufd_requests_total {sum(metric_delta.values())})")
    print(f"  admitted {admitted} = {generations} generations + {dropped} dropped while queued; "
          f"{started} Started seen by clients; {c1.generations_cancelled - c0.generations_cancelled}"
          f" generations cancelled; {c1.generated_tokens - c0.generated_tokens} tokens")
    print(f"  lost {len(lost)}, duplicated {len(duplicated)}, phantom {len(phantom)}, "
          f"disagreeing {len(disagree)}; of the calls the client cut, {refused_unseen} were "
          f"refused before the refusal arrived and {unseen} never reached the handler")
    peak = max(s["rss_kib"] for _, s in samples) if samples else 0
    print(f"server RSS: baseline {mib(base['rss_kib']):.1f} MiB, storm peak {mib(peak):.1f}, "
          f"after {mib(after['rss_kib']):.1f} ({rss_growth:+.1f}); storm first quarter "
          f"{mib(first_q):.1f}, last quarter {mib(last_q):.1f} ({trend:+.1f})")
    print(f"server fds: baseline {base['fds']}, storm peak "
          f"{max(s['fds'] for _, s in samples) if samples else 0}, after {after['fds']}; "
          f"threads {base['threads']} -> {after['threads']}")
    print(f"last cancel: runtime idle {idle_ms:.1f} ms after Cancel of the running "
          f"generation (one token {token_ms:.3f} ms, slack {args.idle_slack_ms:.0f} ms); it "
          f"stopped at {running.completion_tokens} of {LONG} tokens, "
          f"{running.completion_tokens - seen} more than the client had received when it "
          f"sent Cancel (those in flight included), with {args.queue_capacity} cancelled "
          f"behind it")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
