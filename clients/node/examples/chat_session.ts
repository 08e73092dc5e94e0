// A multi-turn chat the server remembers: every turn sends only the new user
// message with the same sessionId, so ggufd prefills just that message on top
// of the conversation's KV cache. Usage:
//   node dist/examples/chat_session.js [--load MODEL] [--session ID] [--save PATH] [--keep] [MESSAGE...]
// One turn per MESSAGE argument, else one per line of stdin. After each answer
// stderr shows what the server reused ("[turn 2: SESSION_CACHE_HIT, 41 of 52
// prompt tokens cached]"). The session is deleted at the end unless --keep;
// --save writes it into the server's --state-dir first. Ctrl-C cancels the
// running turn on the server. The address comes from GGUFD_ADDRESS (TLS CA
// and token from GGUFD_TLS_CA and GGUFD_TOKEN, as for ggufctl).
import { randomUUID } from 'node:crypto';
import * as readline from 'node:readline';

import { GgufdClient, GgufdError } from '../src';

/** Removes `--name VALUE` from args and returns VALUE. */
function takeOption(args: string[], name: string): string | undefined {
  const index = args.indexOf(name);
  return index >= 0 ? args.splice(index, 2)[1] : undefined;
}

/** The messages given as arguments, else the lines of stdin. */
async function* userMessages(given: string[]): AsyncGenerator<string> {
  if (given.length > 0) {
    yield* given;
    return;
  }
  const lines = readline.createInterface({ input: process.stdin, terminal: false });
  for await (const line of lines) if (line.trim()) yield line;
}

async function main(): Promise<number> {
  const args = process.argv.slice(2);
  const model = takeOption(args, '--load');
  const sessionId = takeOption(args, '--session') ?? `node-chat-${randomUUID().slice(0, 8)}`;
  const savePath = takeOption(args, '--save');
  const keep = args.includes('--keep');
  if (keep) args.splice(args.indexOf('--keep'), 1);

  const client = new GgufdClient(process.env.GGUFD_ADDRESS ?? '127.0.0.1:50051', {
    // As ggufctl reads them: a CA bundle turns TLS on; the bearer token.
    tls: process.env.GGUFD_TLS_CA ? { caFile: process.env.GGUFD_TLS_CA } : undefined,
    token: process.env.GGUFD_TOKEN || undefined,
  });
  const controller = new AbortController();
  process.once('SIGINT', () => controller.abort());
  try {
    if (model) {
      const info = await client.loadModel(model).info();
      console.error(`loaded ${info.name} (${info.architecture}, ${info.fileType})`);
    }
    let turn = 0;
    for await (const message of userMessages(args)) {
      turn += 1;
      // Only the new message: the server appends it to the session's history.
      const generation = client.chat(
        [{ role: 'user', content: message }],
        { sessionId, stopping: { maxTokens: 64 } },
        { signal: controller.signal },
      );
      for await (const piece of generation.textChunks()) process.stdout.write(piece);
      process.stdout.write('\n');
      const started = generation.started;
      console.error(
        `[turn ${turn}: ${started?.sessionCache}, ${started?.cachedTokens} of ${started?.promptTokens} ` +
          `prompt tokens cached, ${generation.finished?.usage?.completionTokens} generated]`,
      );
    }
    const session = (await client.listSessions()).sessions.find((s) => s.id === sessionId);
    if (session) {
      console.error(
        `[session ${session.id}: ${session.turns} turns, ${session.tokens} tokens, ${session.kvBytes} KV cache bytes]`,
      );
    }
    if (savePath) {
      const saved = await client.saveSession(sessionId, savePath);
      console.error(`[saved to ${saved.path} (${saved.fileBytes} bytes)]`);
    }
    return 0;
  } catch (error) {
    if (controller.signal.aborted) {
      console.error('\n[cancelled]');
      return 130;
    }
    if (error instanceof GgufdError) {
      console.error(`error: ${error.grpcCodeName} ${error.reason} (${error.errorCode}): ${error.details}`);
      return error.retryDelayMs !== undefined ? 3 : 1;
    }
    throw error;
  } finally {
    if (!keep) await client.deleteSession(sessionId, {}, { timeoutMs: 5_000 }).catch(() => {});
    client.close();
  }
}

main().then((code) => {
  process.exitCode = code;
});
