"""A multi-turn chat the server remembers: every turn sends only the new user
message with the same session_id, so ggufd prefills just that message on top
of the conversation's KV cache instead of the whole conversation again.

    python -m ggufd.chat_example --load SmolLM2-135M-Instruct.Q4_1.gguf \\
        "Hi! My name is Ada." "What is my name?"
    python -m ggufd.chat_example          # interactive: one message per line

After each answer, stderr shows what the server reused, e.g.
`[turn 2: SESSION_CACHE_HIT, 41 of 52 prompt tokens cached, 17 generated]`.
The session is deleted at the end unless --keep; --save writes it into the
server's --state-dir first (restore it with Client.restore_session).
Ctrl-C cancels the running turn on the server.
"""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Iterator

import ggufd


def user_messages(given: list[str]) -> Iterator[str]:
    """The messages from the command line, else one per line of stdin."""
    if given:
        yield from given
        return
    prompt = "> " if sys.stdin.isatty() else ""
    while True:
        try:
            line = input(prompt)
        except EOFError:
            return
        if line.strip():
            yield line


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m ggufd.chat_example", description=__doc__.split("\n")[0]
    )
    parser.add_argument("messages", nargs="*", help="user messages, one per turn (default: stdin lines)")
    parser.add_argument("--server", default="127.0.0.1:50051", help="ggufd address")
    parser.add_argument("--load", metavar="PATH", help="load this model (inside the server's model dir) first")
    parser.add_argument("--session", help="session id (default: a new random one)")
    parser.add_argument("--system", help="system message of the first turn")
    parser.add_argument("-n", "--max-tokens", type=int, default=64)
    parser.add_argument("-t", "--temperature", type=float)
    parser.add_argument("--seed", type=int)
    parser.add_argument("--save", metavar="PATH", help="save the session to PATH in the server's --state-dir")
    parser.add_argument("--keep", action="store_true", help="keep the session on the server at the end")
    parser.add_argument("--timeout", type=float, help="deadline per call in seconds")
    args = parser.parse_args(argv)

    session_id = args.session or "py-chat-" + uuid.uuid4().hex[:12]
    options: ggufd.GenerateOptions = {"max_tokens": args.max_tokens, "session_id": session_id}
    if args.temperature is not None:
        options["temperature"] = args.temperature
    if args.seed is not None:
        options["seed"] = args.seed

    with ggufd.Client(args.server, timeout=args.timeout) as client:
        try:
            if args.load:
                info = client.load_model(args.load)
                print(f"[loaded {info.name} ({info.architecture}, {info.file_type})]", file=sys.stderr)
            for turn, text in enumerate(user_messages(args.messages), start=1):
                # Only the new message: the server appends it to the history.
                messages: list[ggufd.Message] = [{"role": "user", "content": text}]
                if turn == 1 and args.system:
                    messages.insert(0, {"role": "system", "content": args.system})
                with client.generate(messages=messages, **options) as generation:
                    for event in generation:
                        if isinstance(event, ggufd.Chunk):
                            print(event.text, end="", flush=True)
                started, finished = generation.started, generation.finished
                print()
                if started is not None and finished is not None:
                    print(
                        f"[turn {turn}: {ggufd.SessionCache.Name(started.session_cache)},"
                        f" {started.cached_tokens} of {started.prompt_tokens} prompt tokens cached,"
                        f" {finished.usage.completion_tokens} generated]",
                        file=sys.stderr,
                    )
            for s in client.list_sessions().sessions:
                if s.id == session_id:
                    print(
                        f"[session {s.id}: {s.turns} turns, {s.tokens} tokens,"
                        f" {s.kv_bytes} KV cache bytes]",
                        file=sys.stderr,
                    )
            if args.save:
                saved = client.save_session(session_id, args.save)
                print(f"[saved to {saved.path} ({saved.file_bytes} bytes)]", file=sys.stderr)
        except KeyboardInterrupt:
            print("\n[cancelled]", file=sys.stderr)
            return 130
        except ggufd.GgufdError as e:
            hint = f" (retry in {e.retry_delay:.1f}s)" if e.retry_delay is not None else ""
            print(f"error: {e.grpc_code.name}: {e}{hint}", file=sys.stderr)
            return 1
        finally:
            if not args.keep:
                try:
                    client.delete_session(session_id, timeout=5)
                except ggufd.GgufdError:
                    pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
