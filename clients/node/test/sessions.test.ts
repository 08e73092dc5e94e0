// End-to-end tests of sessions (GenerateRequest.sessionId, the Sessions
// service, Started's session fields) against a real ggufd of their own,
// started with --state-dir. Greedy runs with token prompts make
// continuations comparable token for token: a session's continuation equals
// that of a fork of it, of a save + restore of it, and what the runtime's
// shared cache gives for the same conversation run without a session
// (sharedCacheTurns). After an eviction the session evaluates its history
// again in one batch, so its continuation equals a stateless Generate of the
// whole history with reuseCache false. (Those two ways of evaluating the
// same tokens may differ in the last bits, so they are never compared.)
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import * as grpc from '@grpc/grpc-js';

import {
  ErrorCode,
  GgufdClient,
  GgufdError,
  type Finished__Output,
  type GenerateRequest,
  SessionCache,
  type SessionInfo__Output,
  type Started__Output,
} from '../src';
import { MODEL_FILE, Server } from './server';

const TEST_TIMEOUT_MS = 60_000;
/** Tokens per greedy turn (never ended early). */
const TURN_TOKENS = 8;

let server: Server;
let client: GgufdClient;
let stateDir: string;

/** Asserts that `promise` rejects with a GgufdError of this code (and reason). */
async function assertGgufdError(
  promise: Promise<unknown>,
  expected: { grpcCode: grpc.status; reason?: string; errorCode?: number },
): Promise<GgufdError> {
  let caught: unknown;
  await assert.rejects(promise, (error) => {
    caught = error;
    return true;
  });
  assert.ok(caught instanceof GgufdError, `not a GgufdError: ${String(caught)}`);
  assert.equal(caught.grpcCodeName, grpc.status[expected.grpcCode], caught.message);
  if (expected.reason !== undefined) assert.equal(caught.reason, expected.reason, caught.message);
  if (expected.errorCode !== undefined) assert.equal(caught.errorCode, expected.errorCode, caught.message);
  return caught;
}

interface Turn {
  started: Started__Output;
  finished: Finished__Output;
  ids: number[];
  text: string;
}

/** Runs one Generate to its end. */
async function runTurn(request: GenerateRequest): Promise<Turn> {
  const generation = client.generate(request);
  const ids: number[] = [];
  let text = '';
  for await (const event of generation) {
    if (event.chunk) {
      text += event.chunk.text;
      ids.push(...event.chunk.tokens.map((t) => t.id));
    }
  }
  assert.ok(generation.started && generation.finished);
  return { started: generation.started, finished: generation.finished, ids, text };
}

/** A greedy turn of TURN_TOKENS tokens from token ids, with their ids reported. */
function greedy(ids: number[], more: GenerateRequest = {}): Promise<Turn> {
  return runTurn({
    tokens: { ids },
    sampling: { temperature: 0 },
    stopping: { maxTokens: TURN_TOKENS, ignoreEos: true },
    output: { tokenIds: true },
    ...more,
  });
}

/**
 * The two turns a session ran (`prompt`, then `follow`), run without a
 * session: `prompt` with reuseCache false (evaluated in one batch, as a new
 * session's), then the whole conversation so far on the runtime's shared
 * cache, which holds all of it but the last generated token (never fed
 * back), just as the session's cache did. Nothing else may run on the
 * runtime in between.
 */
async function sharedCacheTurns(prompt: number[], follow: number[]): Promise<[Turn, Turn]> {
  const first = await greedy(prompt, { reuseCache: false });
  const second = await greedy([...prompt, ...first.ids, ...follow]);
  assert.equal(second.started.cachedTokens, prompt.length + first.ids.length - 1, JSON.stringify(second.started));
  return [first, second];
}

async function listed(id: string, runtime = ''): Promise<SessionInfo__Output | undefined> {
  return (await client.listSessions({ runtime })).sessions.find((s) => s.id === id);
}

describe('ggufd Node client sessions', { timeout: 5 * TEST_TIMEOUT_MS }, () => {
  before(async () => {
    stateDir = mkdtempSync(path.join(tmpdir(), 'ggufd-node-state-'));
    server = await Server.start(['--state-dir', stateDir]);
    client = new GgufdClient(server.address, { timeoutMs: TEST_TIMEOUT_MS });
    await client.loadModel(MODEL_FILE).info();
  });

  after(async () => {
    client?.close();
    await server?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  });

  it('continues a chat session: the second turn hits its cache', { timeout: TEST_TIMEOUT_MS }, async () => {
    const sessionId = 'node-chat';
    const chatTurn = async (content: string): Promise<Turn> => {
      const generation = client.chat([{ role: 'user', content }], {
        sessionId,
        sampling: { temperature: 0 },
        stopping: { maxTokens: TURN_TOKENS },
      });
      const text = await generation.text();
      assert.ok(generation.started && generation.finished);
      return { started: generation.started, finished: generation.finished, ids: [], text };
    };
    const first = await chatTurn('Tell me a long story about a dragon.');
    assert.equal(first.started.sessionId, sessionId);
    assert.equal(first.started.sessionCache, SessionCache.SESSION_CACHE_NEW);
    assert.equal(first.started.sessionTokens, 0);
    assert.equal(first.started.cachedTokens, 0);
    assert.equal(first.finished.reason, 'FINISH_REASON_MAX_TOKENS');
    // ListSessions answers from the snapshot published before the turn's
    // stream ended. The history: the prompt, the answer, and the template's
    // end-of-turn text closing the answer (it ended at maxTokens, not at the
    // end token).
    const afterFirst = await listed(sessionId);
    assert.equal(afterFirst?.turns, 1, JSON.stringify(afterFirst));
    const history = afterFirst?.tokens ?? 0;
    assert.ok(history > first.started.promptTokens + (first.finished.usage?.completionTokens ?? 0), `${history}`);

    // Only the new message: the server renders it as the conversation's next turn.
    const second = await chatTurn('Make it shorter.');
    assert.equal(second.started.sessionCache, SessionCache.SESSION_CACHE_HIT);
    assert.equal(second.started.sessionTokens, history);
    // The cache holds turn 1's prompt and answer but the answer's last token
    // (never evaluated): only the rest is evaluated again.
    const turn1 = first.started.promptTokens + (first.finished.usage?.completionTokens ?? 0);
    const cached = second.started.cachedTokens;
    assert.ok(cached >= turn1 - 1 && cached <= history, `cached ${cached}, turn 1 ${turn1}, history ${history}`);
    assert.ok(second.text.trim().length > 0);

    const info = await listed(sessionId);
    assert.equal(info?.turns, 2, JSON.stringify(info));
    assert.equal(info?.runtime, 'default');
    assert.ok((info?.tokens ?? 0) > second.started.promptTokens + (second.finished.usage?.completionTokens ?? 0));
    assert.ok(Number(info?.kvBytes) > 0);
    const all = await client.listSessions();
    assert.equal(all.sessions[0]?.id, sessionId); // most recently used first
    assert.ok(Number(all.kvBudgetBytes) > 0 && Number(all.kvBytes) >= Number(info?.kvBytes));
    const status = await client.status();
    assert.ok((status.sessions?.sessions ?? 0) >= 1);
    assert.deepEqual(await client.deleteSession(sessionId), { found: true });
  });

  it('forks a session that continues like the original; deletes it', { timeout: TEST_TIMEOUT_MS }, async () => {
    const prompt = await client.tokenize('Once upon a time');
    const a = await greedy(prompt, { sessionId: 'node-a' });
    assert.equal(a.started.sessionCache, 'SESSION_CACHE_NEW');
    assert.equal(a.ids.length, TURN_TOKENS);
    const history = [...prompt, ...a.ids];

    const copy = await client.forkSession('node-a', 'node-b');
    assert.equal(copy.id, 'node-b');
    assert.equal(copy.tokens, history.length);
    assert.equal(copy.turns, 0);
    const cut = await client.forkSession('node-a', 'node-c', { keepTokens: prompt.length });
    assert.equal(cut.tokens, prompt.length);
    assert.equal(cut.turns, 0);
    const turns = await Promise.all(['node-a', 'node-b', 'node-c'].map(async (id) => (await listed(id))?.turns));
    assert.deepEqual(turns, [1, 0, 0]);

    const follow = await client.tokenize(' The dragon', { addSpecial: false });
    const a2 = await greedy(follow, { sessionId: 'node-a' });
    const b2 = await greedy(follow, { sessionId: 'node-b' });
    assert.equal(b2.started.sessionCache, 'SESSION_CACHE_HIT');
    assert.equal(b2.started.sessionTokens, history.length);
    assert.deepEqual([b2.ids, b2.text], [a2.ids, a2.text]);
    // The same conversation without a session, on the shared cache.
    const [shared1, shared2] = await sharedCacheTurns(prompt, follow);
    assert.equal(shared2.started.sessionCache, 'SESSION_CACHE_UNSPECIFIED');
    assert.deepEqual(shared1.ids, a.ids);
    assert.deepEqual([shared2.ids, shared2.text], [a2.ids, a2.text]);
    // Cut back to the prompt and given the first generated token, it
    // generates the rest of the original turn.
    const c2 = await greedy(a.ids.slice(0, 1), { sessionId: 'node-c', stopping: { maxTokens: TURN_TOKENS - 1 } });
    assert.deepEqual(c2.ids, a.ids.slice(1));

    await assertGgufdError(client.forkSession('node-a', 'node-c'), {
      grpcCode: grpc.status.ALREADY_EXISTS,
      reason: 'ALREADY_EXISTS',
      errorCode: ErrorCode.ALREADY_EXISTS,
    });
    await assertGgufdError(client.forkSession('node-nope', 'node-d'), {
      grpcCode: grpc.status.NOT_FOUND,
      reason: 'SESSION_NOT_FOUND',
      errorCode: ErrorCode.SESSION_NOT_FOUND,
    });

    assert.deepEqual(await client.deleteSession('node-b'), { found: true });
    assert.deepEqual(await client.deleteSession('node-b'), { found: false });
    assert.equal(await listed('node-b'), undefined);
    for (const id of ['node-a', 'node-c']) assert.deepEqual(await client.deleteSession(id), { found: true });
  });

  it('saves and restores a session with the same greedy continuation', { timeout: TEST_TIMEOUT_MS }, async () => {
    const prompt = await client.tokenize('The little robot');
    const first = await greedy(prompt, { sessionId: 'node-saved' });
    const saved = await client.saveSession('node-saved');
    assert.equal(saved.path, 'node-saved.session');
    assert.equal(statSync(path.join(stateDir, saved.path)).size, Number(saved.fileBytes));
    assert.equal(saved.session?.tokens, prompt.length + TURN_TOKENS);
    assert.ok(saved.session?.saved);

    const follow = await client.tokenize(' walked', { addSpecial: false });
    const original = await greedy(follow, { sessionId: 'node-saved' });
    const info = await client.restoreSession(saved.path, { sessionId: 'node-restored' });
    assert.equal(info.id, 'node-restored');
    assert.equal(info.tokens, prompt.length + TURN_TOKENS);
    const restored = await greedy(follow, { sessionId: 'node-restored' });
    assert.equal(restored.started.sessionTokens, original.started.sessionTokens);
    assert.deepEqual([restored.ids, restored.text], [original.ids, original.text]);
    const [shared1, shared2] = await sharedCacheTurns(prompt, follow);
    assert.deepEqual(shared1.ids, first.ids);
    assert.deepEqual([shared2.ids, shared2.text], [original.ids, original.text]);

    // Onto an existing id only with replace; then it is back at the saved state.
    await assertGgufdError(client.restoreSession(saved.path), { grpcCode: grpc.status.ALREADY_EXISTS });
    const replaced = await client.restoreSession(saved.path, { replace: true });
    assert.equal(replaced.id, 'node-saved');
    const again = await greedy(follow, { sessionId: 'node-saved' });
    assert.deepEqual([again.ids, again.text], [original.ids, original.text]);

    await assertGgufdError(client.saveSession('node-saved', '../outside.session'), {
      grpcCode: grpc.status.PERMISSION_DENIED,
    });
    const noDir = await assertGgufdError(client.saveSession('node-saved', 'node-no-such-dir/x.session'), {
      grpcCode: grpc.status.INVALID_ARGUMENT,
    });
    assert.deepEqual(
      noDir.fieldViolations.map((v) => v.field),
      ['path'],
    );
    await assertGgufdError(client.restoreSession('node-absent.session'), { grpcCode: grpc.status.NOT_FOUND });
    // A damaged file is refused and changes nothing.
    const data = readFileSync(path.join(stateDir, saved.path));
    writeFileSync(path.join(stateDir, 'node-truncated.session'), data.subarray(0, data.length >> 1));
    const error = await assertGgufdError(client.restoreSession('node-truncated.session', { sessionId: 'node-x' }), {
      grpcCode: grpc.status.INVALID_ARGUMENT,
    });
    assert.match(error.details, /truncated/);
    assert.equal(await listed('node-x'), undefined);
    for (const id of ['node-saved', 'node-restored']) assert.deepEqual(await client.deleteSession(id), { found: true });
  });

  it('evicts idle session caches past sessionMemoryBytes', { timeout: TEST_TIMEOUT_MS }, async () => {
    const runtime = 'node-tiny';
    await client.createRuntime(runtime);
    try {
      await client.loadModel(MODEL_FILE, { runtime, sessionMemoryBytes: 1 }).info();
      const prompt = await client.tokenize('Once upon a time', { runtime });
      const x = await greedy(prompt, { runtime, sessionId: 'node-x' });
      await greedy(prompt, { runtime, sessionId: 'node-y' });
      const follow = await client.tokenize(' The', { runtime, addSpecial: false });
      const x2 = await greedy(follow, { runtime, sessionId: 'node-x' });
      assert.equal(x2.started.sessionCache, 'SESSION_CACHE_EVICTED');
      assert.equal(x2.started.cachedTokens, 0);
      assert.equal(x2.started.sessionTokens, prompt.length + x.ids.length);
      // The history was evaluated again in one batch: the same as a
      // stateless Generate of it without the shared cache.
      const stateless = await greedy([...prompt, ...x.ids, ...follow], { runtime, reuseCache: false });
      assert.equal(stateless.started.cachedTokens, 0);
      assert.deepEqual([x2.ids, x2.text], [stateless.ids, stateless.text]);
      const status = await client.status({ runtime });
      assert.equal(status.sessions?.kvBudgetBytes, '1');
      assert.ok(Number(status.counters?.sessionEvictions) >= 1);
    } finally {
      await client.deleteRuntime(runtime);
    }
  });
});
