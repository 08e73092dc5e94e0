"""End-to-end tests of sessions (Generate's session_id, the Sessions service,
Started's session fields) against a real ggufd of their own, started with
--state-dir. Greedy runs with `tokens` prompts make continuations comparable
token for token: a session's continuation equals that of a fork of it, of a
save + restore of it (also in another server process), and what the runtime's
shared cache gives for the same conversation run without a session
(`shared_cache_turns`). After an eviction the session evaluates its history
again in one batch, so its continuation equals a stateless Generate of the
whole history with reuse_cache false. (Those two ways of evaluating the same
tokens may differ in the last bits, so they are never compared.)"""

from __future__ import annotations

import asyncio
import pathlib
from collections.abc import Iterator
from dataclasses import dataclass

import grpc
import pytest
from ggufd_server import MODEL, GgufdServer
from typing_extensions import Unpack

import ggufd

# Tokens per greedy turn: never ended early, reported with their ids.
TURN_TOKENS = 8


def greedy(**options: Unpack[ggufd.GenerateOptions]) -> ggufd.GenerateOptions:
    return {"temperature": 0, "max_tokens": TURN_TOKENS, "ignore_eos": True, "token_ids": True, **options}


@pytest.fixture(scope="module")
def state_dir(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="module")
def sessions_server(state_dir: pathlib.Path) -> Iterator[GgufdServer]:
    s = GgufdServer("--state-dir", str(state_dir))
    try:
        yield s
    finally:
        s.stop()


@pytest.fixture(scope="module")
def sc(sessions_server: GgufdServer) -> Iterator[ggufd.Client]:
    """A client of the --state-dir server, with the model loaded."""
    with ggufd.Client(sessions_server.address, timeout=60) as c:
        c.load_model(MODEL)
        yield c


@dataclass
class Turn:
    started: ggufd.Started
    finished: ggufd.Finished
    ids: list[int]
    text: str


def run_turn(
    client: ggufd.Client,
    prompt: ggufd.Prompt | None = None,
    *,
    messages: list[ggufd.Message] | None = None,
    **options: Unpack[ggufd.GenerateOptions],
) -> Turn:
    """One Generate read to its end: Started, Finished, the token ids and text."""
    ids: list[int] = []
    text = ""
    with client.generate(prompt, messages=messages, **options) as generation:
        for event in generation:
            if isinstance(event, ggufd.Chunk):
                text += event.text
                ids += [t.id for t in event.tokens]
    assert generation.started is not None and generation.finished is not None
    return Turn(generation.started, generation.finished, ids, text)


def cache(turn: Turn) -> str:
    return ggufd.SessionCache.Name(turn.started.session_cache)


def shared_cache_turns(client: ggufd.Client, prompt: list[int], follow: list[int]) -> tuple[Turn, Turn]:
    """The two turns a session ran (`prompt`, then `follow`), run without a
    session: `prompt` with reuse_cache false (evaluated in one batch, as a new
    session's), then the whole conversation so far on the runtime's shared
    cache, which holds all of it but the last generated token (never fed
    back), just as the session's cache did. Nothing else may run on the
    runtime in between."""
    first = run_turn(client, prompt, **greedy(reuse_cache=False))
    second = run_turn(client, prompt + first.ids + follow, **greedy())
    assert second.started.cached_tokens == len(prompt) + len(first.ids) - 1, second.started
    return first, second


def listed(client: ggufd.Client, session_id: str, runtime: str | None = None) -> ggufd.SessionInfo | None:
    for info in client.list_sessions(runtime=runtime).sessions:
        if info.id == session_id:
            return info
    return None


def test_chat_turns_reuse_the_session_cache(sc: ggufd.Client) -> None:
    sid = "py-chat"
    before = sc.status().counters
    first = run_turn(
        sc,
        messages=[{"role": "user", "content": "Tell me a long story about a dragon."}],
        session_id=sid,
        temperature=0,
        max_tokens=8,
    )
    assert first.started.session_id == sid
    assert cache(first) == "SESSION_CACHE_NEW"
    assert first.started.session_tokens == 0 and first.started.cached_tokens == 0
    assert first.finished.reason == ggufd.FinishReason.FINISH_REASON_MAX_TOKENS
    # ListSessions answers from the snapshot published before the turn's
    # stream ended. The history: the prompt, the answer, and the template's
    # end-of-turn text closing the answer (it ended at max_tokens, not at the
    # end token).
    after_first = listed(sc, sid)
    assert after_first is not None and after_first.turns == 1, after_first
    history = after_first.tokens
    assert history > first.started.prompt_tokens + first.finished.usage.completion_tokens

    # Only the new message: the server renders it as the conversation's next turn.
    second = run_turn(
        sc,
        messages=[{"role": "user", "content": "Make it shorter."}],
        session_id=sid,
        temperature=0,
        max_tokens=8,
    )
    assert second.started.session_id == sid
    assert cache(second) == "SESSION_CACHE_HIT"
    assert second.started.session_tokens == history
    assert second.started.cached_tokens <= history
    # The cache holds turn 1's prompt and answer but the answer's last token
    # (never evaluated): only the rest is evaluated again.
    turn1 = first.started.prompt_tokens + first.finished.usage.completion_tokens
    assert second.started.cached_tokens >= turn1 - 1
    prefilled = second.started.prompt_tokens - second.started.cached_tokens
    assert second.finished.usage.cached_tokens == second.started.cached_tokens
    assert second.text.strip()

    # The status counts the turn as soon as its stream has ended.
    status = sc.status()
    assert status.running_operation == "" and status.counters.generations == before.generations + 2
    assert status.counters.prefilled_tokens - before.prefilled_tokens == (
        first.started.prompt_tokens + prefilled
    )
    assert status.sessions.sessions >= 1 and status.sessions.ttl_seconds > 0

    info = listed(sc, sid)
    assert info is not None and info.turns == 2, info
    assert info.runtime == "default"
    assert info.tokens > second.started.prompt_tokens + second.finished.usage.completion_tokens
    assert 0 < info.cached_tokens <= info.tokens
    assert info.kv_bytes > 0
    assert 0 < info.created_unix_ms <= info.last_used_unix_ms
    assert not info.saved
    response = sc.list_sessions()
    assert response.sessions[0].id == sid  # most recently used first
    assert response.kv_bytes >= info.kv_bytes and response.kv_budget_bytes > 0
    assert sc.delete_session(sid) is True


def test_fork_continues_like_the_original_and_delete_drops_it(sc: ggufd.Client) -> None:
    prompt = sc.tokenize("Once upon a time")
    a = run_turn(sc, prompt, **greedy(session_id="py-a"))
    assert cache(a) == "SESSION_CACHE_NEW" and len(a.ids) == TURN_TOKENS
    history = prompt + a.ids

    copy = sc.fork_session("py-a", "py-b")
    assert copy.id == "py-b" and copy.tokens == len(history) and copy.turns == 0
    cut = sc.fork_session("py-a", "py-c", keep_tokens=len(prompt))
    assert cut.id == "py-c" and cut.tokens == len(prompt) and cut.turns == 0
    turns = {sid: info.turns if (info := listed(sc, sid)) else None for sid in ("py-a", "py-b", "py-c")}
    assert turns == {"py-a": 1, "py-b": 0, "py-c": 0}

    follow = sc.tokenize(" The dragon", add_special=False)
    a2 = run_turn(sc, follow, **greedy(session_id="py-a"))
    b2 = run_turn(sc, follow, **greedy(session_id="py-b"))
    assert cache(a2) == cache(b2) == "SESSION_CACHE_HIT"
    assert b2.started.session_tokens == a2.started.session_tokens == len(history)
    assert (b2.ids, b2.text) == (a2.ids, a2.text)
    # The same conversation without a session, on the shared cache.
    shared1, shared2 = shared_cache_turns(sc, prompt, follow)
    assert cache(shared2) == "SESSION_CACHE_UNSPECIFIED" and shared2.started.session_id == ""
    assert shared1.ids == a.ids
    assert (shared2.ids, shared2.text) == (a2.ids, a2.text)
    # The fork cut back to the prompt, given the first generated token,
    # generates the rest of the original turn.
    c2 = run_turn(sc, a.ids[:1], **greedy(session_id="py-c", max_tokens=TURN_TOKENS - 1))
    assert c2.started.session_tokens == len(prompt)
    assert c2.ids == a.ids[1:]

    with pytest.raises(ggufd.AlreadyExistsError) as exists:
        sc.fork_session("py-a", "py-c")
    assert exists.value.grpc_code == grpc.StatusCode.ALREADY_EXISTS and exists.value.error_code == 18
    with pytest.raises(ggufd.SessionNotFoundError) as missing:
        sc.fork_session("py-nope", "py-d")
    assert missing.value.grpc_code == grpc.StatusCode.NOT_FOUND and missing.value.error_code == 17
    with pytest.raises(ggufd.InvalidArgumentError) as bad:
        run_turn(sc, "Hello", session_id="not a valid id", max_tokens=1)
    assert any(v.field == "session_id" for v in bad.value.field_violations), bad.value

    assert sc.delete_session("py-b") is True
    assert sc.delete_session("py-b") is False
    assert listed(sc, "py-b") is None
    # The id is free again: a new, empty session.
    again = run_turn(sc, follow, **greedy(session_id="py-b"))
    assert cache(again) == "SESSION_CACHE_NEW" and again.started.session_tokens == 0
    for sid in ("py-a", "py-b", "py-c"):
        assert sc.delete_session(sid) is True


def test_save_and_restore_continue_like_the_original(sc: ggufd.Client, state_dir: pathlib.Path) -> None:
    prompt = sc.tokenize("The little robot")
    first = run_turn(sc, prompt, **greedy(session_id="py-saved"))
    saved = sc.save_session("py-saved")
    assert saved.path == "py-saved.session"
    assert saved.file_bytes > 0 and (state_dir / saved.path).stat().st_size == saved.file_bytes
    assert saved.session.id == "py-saved" and saved.session.tokens == len(prompt) + len(first.ids)
    assert saved.session.saved and saved.session.saved_path == saved.path

    follow = sc.tokenize(" walked", add_special=False)
    original = run_turn(sc, follow, **greedy(session_id="py-saved"))
    info = sc.restore_session(saved.path, session_id="py-restored")
    assert info.id == "py-restored" and info.tokens == saved.session.tokens
    restored = run_turn(sc, follow, **greedy(session_id="py-restored"))
    assert restored.started.session_tokens == original.started.session_tokens
    assert (restored.ids, restored.text) == (original.ids, original.text)
    shared1, shared2 = shared_cache_turns(sc, prompt, follow)
    assert shared1.ids == first.ids
    assert (shared2.ids, shared2.text) == (original.ids, original.text)

    # Onto an existing id only with replace; then it is back at the saved state.
    with pytest.raises(ggufd.AlreadyExistsError):
        sc.restore_session(saved.path)
    info = sc.restore_session(saved.path, replace=True)
    assert info.id == "py-saved" and info.tokens == saved.session.tokens
    again = run_turn(sc, follow, **greedy(session_id="py-saved"))
    assert (again.ids, again.text) == (original.ids, original.text)

    # A path of its own; escapes, unknown sessions and missing files refused.
    named = sc.save_session("py-restored", "py-named.session")
    assert named.path == "py-named.session" and (state_dir / "py-named.session").is_file()
    with pytest.raises(ggufd.PermissionDeniedError):
        sc.save_session("py-saved", "../outside.session")
    with pytest.raises(ggufd.InvalidArgumentError) as no_dir:
        sc.save_session("py-saved", "py-no-such-dir/x.session")
    assert [v.field for v in no_dir.value.field_violations] == ["path"], no_dir.value
    with pytest.raises(ggufd.SessionNotFoundError):
        sc.save_session("py-nope")
    with pytest.raises(ggufd.GgufdError) as absent:
        sc.restore_session("py-absent.session")
    assert absent.value.grpc_code == grpc.StatusCode.NOT_FOUND

    # Damaged files are refused with INVALID_ARGUMENT naming why.
    data = (state_dir / saved.path).read_bytes()
    (state_dir / "py-truncated.session").write_bytes(data[: len(data) // 2])
    flipped = bytearray(data)
    flipped[len(data) // 2] ^= 0xFF
    (state_dir / "py-corrupt.session").write_bytes(bytes(flipped))
    for path, why in (("py-truncated.session", "truncated"), ("py-corrupt.session", "checksum")):
        with pytest.raises(ggufd.InvalidArgumentError) as damaged:
            sc.restore_session(path, session_id="py-damaged")
        assert why in damaged.value.message, damaged.value
    assert listed(sc, "py-damaged") is None
    for sid in ("py-saved", "py-restored"):
        assert sc.delete_session(sid) is True


def test_restore_in_another_server_process(sc: ggufd.Client, state_dir: pathlib.Path) -> None:
    prompt = sc.tokenize("In a small village")
    run_turn(sc, prompt, **greedy(session_id="py-moved"))
    sc.save_session("py-moved")
    follow = sc.tokenize(" there", add_special=False)
    original = run_turn(sc, follow, **greedy(session_id="py-moved"))
    assert sc.delete_session("py-moved") is True

    other = GgufdServer("--state-dir", str(state_dir))
    try:
        with ggufd.Client(other.address, timeout=60) as fresh:
            fresh.load_model(MODEL)
            info = fresh.restore_session("py-moved.session")
            assert info.id == "py-moved" and info.tokens == len(prompt) + TURN_TOKENS
            restored = run_turn(fresh, follow, **greedy(session_id="py-moved"))
    finally:
        other.stop()
    assert (restored.ids, restored.text) == (original.ids, original.text)


def test_session_memory_budget_evicts_idle_caches(sc: ggufd.Client) -> None:
    # A runtime whose sessions may keep 1 byte of KV cache: an idle
    # session's cache goes as soon as another needs room.
    sc.create_runtime("py-tiny")
    try:
        sc.load_model(MODEL, runtime="py-tiny", session_memory_bytes=1)
        prompt = sc.tokenize("Once upon a time", runtime="py-tiny")
        x = run_turn(sc, prompt, **greedy(session_id="py-x", runtime="py-tiny"))
        run_turn(sc, prompt, **greedy(session_id="py-y", runtime="py-tiny"))
        follow = sc.tokenize(" The", add_special=False, runtime="py-tiny")
        x2 = run_turn(sc, follow, **greedy(session_id="py-x", runtime="py-tiny"))
        assert cache(x2) == "SESSION_CACHE_EVICTED" and x2.started.cached_tokens == 0
        assert x2.started.session_tokens == len(prompt) + len(x.ids)
        # The history was evaluated again in one batch: the same as a
        # stateless Generate of it without the shared cache.
        stateless = run_turn(sc, prompt + x.ids + follow, **greedy(runtime="py-tiny", reuse_cache=False))
        assert stateless.started.cached_tokens == 0
        assert (x2.ids, x2.text) == (stateless.ids, stateless.text)
        status = sc.status(runtime="py-tiny")
        assert status.sessions.kv_budget_bytes == 1
        assert status.counters.session_evictions >= 1
        assert sc.list_sessions(runtime="py-tiny").kv_budget_bytes == 1
    finally:
        sc.delete_runtime("py-tiny")


def test_save_without_a_state_dir_is_failed_precondition(loaded: ggufd.Client) -> None:
    # The shared server of the other tests runs without --state-dir.
    run_turn(loaded, "Hello", session_id="py-nodir", max_tokens=1)
    with pytest.raises(ggufd.NotConfiguredError) as save:
        loaded.save_session("py-nodir")
    assert save.value.grpc_code == grpc.StatusCode.FAILED_PRECONDITION
    assert save.value.reason == "NOT_CONFIGURED" and save.value.error_code == 20
    with pytest.raises(ggufd.NotConfiguredError) as restore:
        loaded.restore_session("py-nodir.session")
    assert restore.value.grpc_code == grpc.StatusCode.FAILED_PRECONDITION
    assert loaded.delete_session("py-nodir") is True


def test_async_client_sessions(sc: ggufd.Client, sessions_server: GgufdServer) -> None:
    async def body(client: ggufd.AsyncClient) -> None:
        prompt = await client.tokenize("Once upon a time")
        first = client.generate(prompt, **greedy(session_id="py-async"))
        first_ids = [t.id async for e in first if isinstance(e, ggufd.Chunk) for t in e.tokens]
        assert first.started is not None and first.started.session_id == "py-async"
        second = client.generate(prompt[-1:], **greedy(session_id="py-async"))
        assert await second.text()
        assert second.started is not None
        assert ggufd.SessionCache.Name(second.started.session_cache) == "SESSION_CACHE_HIT"
        assert second.started.session_tokens == len(prompt) + len(first_ids)
        assert second.started.cached_tokens > 0

        sessions = (await client.list_sessions()).sessions
        assert "py-async" in [s.id for s in sessions]
        fork = await client.fork_session("py-async", "py-async-2", keep_tokens=len(prompt))
        assert fork.tokens == len(prompt)
        saved = await client.save_session("py-async-2")
        assert saved.path == "py-async-2.session" and saved.session.tokens == len(prompt)
        restored = await client.restore_session(saved.path, session_id="py-async-3")
        assert restored.id == "py-async-3" and restored.tokens == len(prompt)
        for sid in ("py-async", "py-async-2", "py-async-3"):
            assert await client.delete_session(sid) is True
        assert await client.delete_session("py-async") is False

    async def main() -> None:
        async with ggufd.AsyncClient(sessions_server.address, timeout=60) as client:
            await body(client)

    asyncio.run(main())
