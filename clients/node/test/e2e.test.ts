// End-to-end tests of the client against a real ggufd with the real
// SmolLM2-135M model: the scenarios of the polyglot client contract.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import * as grpc from '@grpc/grpc-js';

import {
  DEFAULT_RETRY_POLICY,
  ErrorCode,
  GgufdClient,
  GgufdError,
  type GenerateRequest,
  type RuntimeStatus__Output,
} from '../src';
import { GGUFCTL_BIN, MODEL_FILE, Server } from './server';
import { testHooks } from './test_hooks';

const TEST_TIMEOUT_MS = 60_000;

let server: Server;
let client: GgufdClient;

/** Calls `read` until `done` holds for its value; fails after `timeoutMs`. */
async function poll<T>(
  what: string,
  read: () => Promise<T>,
  done: (value: T) => boolean,
  timeoutMs = 30_000,
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value)) return value;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}; last: ${JSON.stringify(value)}`);
    await sleep(25);
  }
}

function waitIdle(runtime = 'default'): Promise<RuntimeStatus__Output> {
  return poll(
    `${runtime} idle`,
    () => client.status({ runtime }),
    (s) => s.runningOperation === '' && s.queueDepth === 0,
  );
}

/** Asserts that `promise` rejects with a GgufdError carrying these fields. */
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

/** A generation that runs long unless something stops it, with token ids in the chunks. */
function longRequest(requestId?: string): GenerateRequest {
  return {
    text: 'Once upon a time',
    requestId,
    stopping: { maxTokens: 500, ignoreEos: true },
    output: { tokenIds: true },
  };
}

describe('ggufd Node client', { timeout: 5 * TEST_TIMEOUT_MS }, () => {
  before(async () => {
    server = await Server.start();
    client = new GgufdClient(server.address);
  });

  after(async () => {
    client?.close();
    await server?.stop();
  });

  it('reports health, loads the model with progress then info', { timeout: TEST_TIMEOUT_MS }, async () => {
    assert.equal(await client.health(), 'SERVING');
    assert.equal(await client.health('ggufd.v1.Inference'), 'NOT_SERVING');

    const kinds: string[] = [];
    let architecture = '';
    for await (const event of client.loadModel(MODEL_FILE)) {
      kinds.push(event.event ?? '');
      if (event.progress) assert.ok(event.progress.fraction >= 0 && event.progress.fraction <= 1);
      if (event.model) architecture = event.model.architecture;
    }
    assert.ok(kinds.length >= 2, `events: ${kinds}`);
    assert.deepEqual(
      kinds.slice(0, -1),
      kinds.slice(0, -1).map(() => 'progress'),
    );
    assert.equal(kinds.at(-1), 'model');
    assert.equal(architecture, 'llama');

    await poll(
      'Inference SERVING',
      () => client.health('ggufd.v1.Inference'),
      (s) => s === 'SERVING',
    );
  });

  it('generates the same text as ggufctl for a seeded request', { timeout: TEST_TIMEOUT_MS }, async () => {
    // Both runs start from an empty KV cache, so neither reuses the other's.
    await client.reset();
    const generation = client.generate({
      text: 'Once upon a time',
      sampling: { temperature: 0.8, seed: 42 },
      stopping: { maxTokens: 24 },
    });
    const text = await generation.text();
    assert.equal(generation.finished?.reason, 'FINISH_REASON_MAX_TOKENS');
    assert.equal(generation.finished?.usage?.completionTokens, 24);
    assert.equal(generation.finished?.usage?.promptTokens, generation.started?.promptTokens);
    assert.ok((generation.started?.promptTokens ?? 0) > 0);
    assert.equal(generation.started?.seed, '42');

    await client.reset();
    const { stdout } = await promisify(execFile)(GGUFCTL_BIN, [
      '-s',
      server.address,
      'generate',
      '-n',
      '24',
      '-t',
      '0.8',
      '--seed',
      '42',
      'Once upon a time',
    ]);
    // ggufctl ends its output with a newline once it has written any text.
    assert.ok(text.length > 0);
    assert.equal(stdout, `${text}\n`);
  });

  it('cancels a running generation through an AbortSignal within one token', { timeout: TEST_TIMEOUT_MS }, async () => {
    const before = await client.status({ fresh: true });
    const controller = new AbortController();
    const generation = client.generate(longRequest(), { signal: controller.signal });
    let received = 0;
    await assert.rejects(
      (async () => {
        for await (const event of generation) {
          received += event.chunk?.tokens.length ?? 0;
          if (received > 0) controller.abort();
        }
      })(),
      (error: Error) => error.name === 'AbortError',
    );
    assert.ok(received > 0);

    await waitIdle();
    const afterStatus = await client.status({ fresh: true });
    const generated = Number(afterStatus.counters!.generatedTokens) - Number(before.counters!.generatedTokens);
    assert.ok(generated >= received, `generated ${generated} < received ${received}`);
    assert.ok(generated <= received + 2, `generated ${generated} tokens, received ${received}`);
    assert.equal(Number(afterStatus.counters!.generationsCancelled) - Number(before.counters!.generationsCancelled), 1);
  });

  it('cancels a generation by request id with cancel()', { timeout: TEST_TIMEOUT_MS }, async () => {
    const generation = client.generate(longRequest('node-explicit-cancel'));
    assert.equal(generation.requestId, 'node-explicit-cancel');
    let cancelled = false;
    for await (const event of generation) {
      if (event.chunk && !cancelled) {
        const response = await client.cancel(generation.requestId);
        assert.deepEqual(response, { found: true, state: 'running' });
        cancelled = true;
      }
    }
    assert.ok(cancelled);
    assert.equal(generation.finished?.reason, 'FINISH_REASON_CANCELLED');
    assert.deepEqual(await client.cancel(generation.requestId), { found: false, state: '' });
    await waitIdle();
  });

  it('gets RESOURCE_EXHAUSTED with QUEUE_FULL from a full queue', { timeout: TEST_TIMEOUT_MS }, async () => {
    const injectFault = (fault: 'FAULT_STALL_WORKER' | 'FAULT_RESUME_WORKER') =>
      client.unary((md, o, cb) =>
        testHooks(client).injectFault({ runtime: 'default', fault, stallMs: 30_000 }, md, o, cb),
      );
    await injectFault('FAULT_STALL_WORKER');
    let queued: Promise<string> | undefined;
    try {
      await poll(
        'the stall',
        () => client.status(),
        (s) => s.runningOperation === 'stall',
      );
      queued = client.generate({ text: 'Once upon a time', stopping: { maxTokens: 4 } }).text();
      // Settled below; until then keep a rejection from counting as unhandled.
      queued.catch(() => {});
      await poll(
        'queue depth 1',
        () => client.status(),
        (s) => s.queueDepth === 1,
      );
      // The client's retry policy retries RESOURCE_EXHAUSTED; the queue stays
      // full through every attempt, so the call still ends with it, and the
      // server logged one refusal per attempt.
      const refusal = '"code":"RESOURCE_EXHAUSTED"';
      const refusalsBefore = server.countLogLines(refusal);
      const error = await assertGgufdError(client.generate({ text: 'Once upon a time' }).text(), {
        grpcCode: grpc.status.RESOURCE_EXHAUSTED,
        reason: 'QUEUE_FULL',
        errorCode: ErrorCode.QUEUE_FULL,
      });
      assert.ok(error.retryDelayMs !== undefined && error.retryDelayMs > 0, `retryDelayMs ${error.retryDelayMs}`);
      await poll(
        `${DEFAULT_RETRY_POLICY.maxAttempts} refusals in the server log`,
        async () => server.countLogLines(refusal) - refusalsBefore,
        (n) => n === DEFAULT_RETRY_POLICY.maxAttempts,
      );
    } finally {
      await injectFault('FAULT_RESUME_WORKER');
    }
    assert.ok((await queued).length > 0);
    await waitIdle();
  });

  it('reads ErrorInfo for NO_MODEL and GENERATION_FAILED', { timeout: TEST_TIMEOUT_MS }, async () => {
    await client.createRuntime('empty');
    try {
      await assertGgufdError(client.generate({ text: 'Hi', runtime: 'empty' }).text(), {
        grpcCode: grpc.status.FAILED_PRECONDITION,
        reason: 'NO_MODEL',
        errorCode: ErrorCode.NO_MODEL,
      });
    } finally {
      await client.deleteRuntime('empty');
    }

    await client.unary((md, o, cb) =>
      testHooks(client).injectFault({ runtime: 'default', fault: 'FAULT_POISON_NEXT_GENERATE' }, md, o, cb),
    );
    const poisoned = { grpcCode: grpc.status.FAILED_PRECONDITION, reason: 'GENERATION_FAILED', errorCode: 13 };
    await assertGgufdError(client.generate({ text: 'Once upon a time', stopping: { maxTokens: 8 } }).text(), poisoned);
    await assertGgufdError(client.generate({ text: 'Once upon a time', stopping: { maxTokens: 8 } }).text(), poisoned);
    await client.reset();
    const text = await client.generate({ text: 'Once upon a time', stopping: { maxTokens: 8 } }).text();
    assert.ok(text.length > 0);
  });

  it('ends a generation past its deadline with DEADLINE_EXCEEDED', { timeout: TEST_TIMEOUT_MS }, async () => {
    await assertGgufdError(client.generate(longRequest(), { timeoutMs: 300 }).text(), {
      grpcCode: grpc.status.DEADLINE_EXCEEDED,
    });
    await waitIdle();

    // The client-wide default applies when the call sets none.
    const hasty = new GgufdClient(server.address, { timeoutMs: 300 });
    try {
      await assertGgufdError(hasty.generate(longRequest()).text(), { grpcCode: grpc.status.DEADLINE_EXCEEDED });
    } finally {
      hasty.close();
    }
    await waitIdle();
  });

  it('round-trips tokenize and answers a chat', { timeout: TEST_TIMEOUT_MS }, async () => {
    const ids = await client.tokenize('Hello, world!', { addSpecial: false });
    assert.ok(ids.length > 0);
    assert.equal(await client.detokenize(ids), 'Hello, world!');
    // A signal aborted before the call rejects with its reason.
    await assert.rejects(client.tokenize('Hello', {}, { signal: AbortSignal.abort() }), { name: 'AbortError' });

    const answer = await client
      .chat([{ role: 'user', content: 'What is the capital of France?' }], {
        sampling: { temperature: 0 },
        stopping: { maxTokens: 16 },
      })
      .text();
    assert.ok(answer.trim().length > 0, `answer ${JSON.stringify(answer)}`);
  });

  it('refuses to save a session without --state-dir (NOT_CONFIGURED)', { timeout: TEST_TIMEOUT_MS }, async () => {
    // This server runs without a state directory; test/sessions.test.ts has one.
    await client.generate({ text: 'Hello', sessionId: 'node-nodir', stopping: { maxTokens: 1 } }).text();
    const notConfigured = {
      grpcCode: grpc.status.FAILED_PRECONDITION,
      reason: 'NOT_CONFIGURED',
      errorCode: ErrorCode.NOT_CONFIGURED,
    };
    await assertGgufdError(client.saveSession('node-nodir'), notConfigured);
    await assertGgufdError(client.restoreSession('node-nodir.session'), notConfigured);
    assert.deepEqual(await client.deleteSession('node-nodir'), { found: true });
  });
});
