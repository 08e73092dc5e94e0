// How one call runs: its deadline, its AbortSignal, and the conversion of
// failures to GgufdError, for unary calls and server streams alike.
import * as grpc from '@grpc/grpc-js';

import { toGgufdError } from './errors';

/** Per-call options, accepted last by every client method. */
export interface CallOptions {
  /** Aborting cancels the call; the call then rejects with `signal.reason`. */
  signal?: AbortSignal;
  /** Deadline in milliseconds from now; overrides the client's default (Infinity = none). */
  timeoutMs?: number;
  /** Absolute deadline; wins over timeoutMs. */
  deadline?: Date;
  /** Extra request metadata. */
  metadata?: grpc.Metadata;
}

/** The grpc-js options for a call, with the client's default timeout applied. */
export function grpcCallOptions(options: CallOptions, defaultTimeoutMs: number): grpc.CallOptions {
  if (options.deadline) return { deadline: options.deadline };
  const timeoutMs = options.timeoutMs ?? defaultTimeoutMs;
  return Number.isFinite(timeoutMs) ? { deadline: new Date(Date.now() + timeoutMs) } : {};
}

type UnaryStarter<Res> = (
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: grpc.requestCallback<Res>,
) => grpc.ClientUnaryCall;

/**
 * Runs a unary call started by `start` (a closure over a stub method and its
 * request), as a promise honouring `options.signal`.
 */
export function unaryCall<Res>(
  start: UnaryStarter<Res>,
  options: CallOptions,
  defaultTimeoutMs = Infinity,
): Promise<Res> {
  const { signal } = options;
  if (signal?.aborted) return Promise.reject(signal.reason);
  return new Promise<Res>((resolve, reject) => {
    const onAbort = (): void => call.cancel();
    const call = start(
      options.metadata ?? new grpc.Metadata(),
      grpcCallOptions(options, defaultTimeoutMs),
      (error, response) => {
        signal?.removeEventListener('abort', onAbort);
        if (signal?.aborted) reject(signal.reason);
        else if (error) reject(toGgufdError(error));
        else resolve(response as Res);
      },
    );
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A server-streaming call as an AsyncIterable. Iterate it once. Leaving the
 * loop early (break, return, throw) or aborting the signal cancels the call
 * on the server; a failed call throws a GgufdError from the loop.
 */
export class ServerStream<T> implements AsyncIterable<T> {
  private readonly onAbort = (): void => this.call.cancel();

  constructor(
    private readonly call: grpc.ClientReadableStream<T>,
    private readonly signal?: AbortSignal,
  ) {
    // Errors reach the consumer through the iterator; this listener keeps a
    // cancelled, no longer iterated stream from raising an unhandled 'error'.
    call.on('error', () => {});
    if (signal?.aborted) call.cancel();
    else signal?.addEventListener('abort', this.onAbort, { once: true });
  }

  /** Cancels the call; a loop over it ends with a CANCELLED GgufdError. */
  cancel(): void {
    this.call.cancel();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let ended = false;
    try {
      for await (const message of this.call) yield message as T;
      ended = true;
    } catch (error) {
      ended = true;
      if (this.signal?.aborted) throw this.signal.reason;
      throw toGgufdError(error);
    } finally {
      this.signal?.removeEventListener('abort', this.onAbort);
      if (!ended) this.call.cancel();
    }
  }
}
