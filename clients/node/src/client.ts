// GgufdClient: one channel to a ggufd server and an idiomatic method per
// API operation; anything not wrapped is reachable through `stubs`.
import { randomUUID } from 'node:crypto';
import * as grpc from '@grpc/grpc-js';

import { type CallOptions, grpcCallOptions, unaryCall } from './calls';
import { type ConstraintParams, toConstraint } from './constraint';
import { type EmbedParams, type Embeddings, embeddingsOf, embedRequest } from './embeddings';
import type { CancelResponse__Output } from './generated/ggufd/v1/CancelResponse';
import type { ChatMessage } from './generated/ggufd/v1/ChatMessage';
import type { ConfigureRequest } from './generated/ggufd/v1/ConfigureRequest';
import type { ConfigureResponse__Output } from './generated/ggufd/v1/ConfigureResponse';
import type { DeleteSessionResponse__Output } from './generated/ggufd/v1/DeleteSessionResponse';
import type { DetokenizeResponse__Output } from './generated/ggufd/v1/DetokenizeResponse';
import type { DiagnosticsClient } from './generated/ggufd/v1/Diagnostics';
import type { EmbedResponse__Output } from './generated/ggufd/v1/EmbedResponse';
import type { GenerateRequest } from './generated/ggufd/v1/GenerateRequest';
import type { InferenceClient } from './generated/ggufd/v1/Inference';
import type { ListRuntimesResponse__Output } from './generated/ggufd/v1/ListRuntimesResponse';
import type { ListSessionsResponse__Output } from './generated/ggufd/v1/ListSessionsResponse';
import type { LoadModelRequest } from './generated/ggufd/v1/LoadModelRequest';
import type { ModelInfo__Output } from './generated/ggufd/v1/ModelInfo';
import type { RuntimeClient } from './generated/ggufd/v1/Runtime';
import type { RuntimeInfo__Output } from './generated/ggufd/v1/RuntimeInfo';
import type { RuntimeStatus__Output } from './generated/ggufd/v1/RuntimeStatus';
import type { SaveSessionResponse__Output } from './generated/ggufd/v1/SaveSessionResponse';
import type { SessionInfo__Output } from './generated/ggufd/v1/SessionInfo';
import type { SessionsClient } from './generated/ggufd/v1/Sessions';
import type { TokenizeResponse__Output } from './generated/ggufd/v1/TokenizeResponse';
import type { HealthClient } from './generated/grpc/health/v1/Health';
import type {
  HealthCheckResponse__Output,
  _grpc_health_v1_HealthCheckResponse_ServingStatus__Output as ServingStatus,
} from './generated/grpc/health/v1/HealthCheckResponse';
import { loadApi } from './protos';
import {
  bearerTokenInterceptor,
  channelCredentials,
  readTokenFile,
  serverNameOptions,
  type TlsOptions,
  type TokenSource,
} from './security';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, serviceConfigJson } from './service_config';
import { Generation, ModelLoad } from './streams';

export interface ClientOptions {
  /** Runtime instance for calls that do not name one; "" = the server's "default". */
  runtime?: string;
  /** Default deadline of every call in milliseconds (Infinity, the default, = none). */
  timeoutMs?: number;
  /** Retry policy for UNAVAILABLE and RESOURCE_EXHAUSTED; false turns retries off. */
  retry?: RetryPolicy | false;
  /**
   * TLS: `true` verifies the server with Node's bundled roots; an object sets
   * the CA, a client certificate (mTLS) and the server name. Default:
   * plaintext, as ggufd serves without --tls-cert.
   */
  tls?: boolean | TlsOptions;
  /**
   * Bearer token sent as `authorization: Bearer <token>` metadata on every
   * call (a call's own `metadata` may set `authorization` instead), or a
   * function returning the current token. Works over TLS and plaintext.
   */
  token?: TokenSource;
  /** A file whose first line is the token, read once here (instead of `token`). */
  tokenFile?: string;
  /** Channel credentials built by hand, instead of `tls`. */
  credentials?: grpc.ChannelCredentials;
  /** Extra grpc-js channel options. */
  channelOptions?: grpc.ChannelOptions;
}

/**
 * What generate() takes: a GenerateRequest whose `constraint` may give the
 * JSON Schema as a value (see ConstraintParams; exactly one kind).
 */
export type GenerateParams = Omit<GenerateRequest, 'constraint'> & { constraint?: ConstraintParams | null };

/** Generate fields other than the prompt, for chat(); `sessionId` continues a session with the new messages only. */
export type ChatParams = Omit<GenerateParams, 'text' | 'tokens' | 'chat'> & {
  template?: string;
  addGenerationPrompt?: boolean;
};

/** Which runtime a Sessions call goes to ("" = the client's). */
export interface SessionParams {
  runtime?: string;
}

/** forkSession(): keep only the first `keepTokens` tokens of the history (unset = all). */
export interface ForkSessionParams extends SessionParams {
  keepTokens?: number;
}

/** restoreSession(): the id to restore as ("" = the saved one); `replace` an existing session of that id. */
export interface RestoreSessionParams extends SessionParams {
  sessionId?: string;
  replace?: boolean;
}

export interface TokenizeParams {
  runtime?: string;
  addSpecial?: boolean;
  parseSpecial?: boolean;
}

/** The generated grpc-js stubs, all on the client's one channel. */
export interface Stubs {
  inference: InferenceClient;
  runtime: RuntimeClient;
  diagnostics: DiagnosticsClient;
  sessions: SessionsClient;
  health: HealthClient;
}

export class GgufdClient {
  readonly stubs: Stubs;
  private readonly runtime: string;
  private readonly timeoutMs: number;

  constructor(address = '127.0.0.1:50051', options: ClientOptions = {}) {
    this.runtime = options.runtime ?? '';
    this.timeoutMs = options.timeoutMs ?? Infinity;
    if (options.tls && options.credentials) throw new Error('set tls or credentials, not both');
    if (options.token !== undefined && options.tokenFile !== undefined) {
      throw new Error('set token or tokenFile, not both');
    }
    const channelOptions: grpc.ChannelOptions = { ...serverNameOptions(options.tls), ...options.channelOptions };
    if (options.retry === false) {
      channelOptions['grpc.enable_retries'] = 0;
    } else {
      channelOptions['grpc.service_config'] = serviceConfigJson(options.retry ?? DEFAULT_RETRY_POLICY);
    }
    const api = loadApi();
    const credentials = options.credentials ?? channelCredentials(options.tls);
    const token = options.tokenFile !== undefined ? readTokenFile(options.tokenFile) : options.token;
    // Interceptors belong to a stub, not to the channel: every stub gets it.
    const interceptors = token === undefined ? [] : [bearerTokenInterceptor(token)];
    const inference = new api.ggufd.v1.Inference(address, credentials, { ...channelOptions, interceptors });
    // The other stubs share the first one's channel.
    const shared = { channelOverride: inference.getChannel(), interceptors };
    this.stubs = {
      inference,
      runtime: new api.ggufd.v1.Runtime(address, credentials, shared),
      diagnostics: new api.ggufd.v1.Diagnostics(address, credentials, shared),
      sessions: new api.ggufd.v1.Sessions(address, credentials, shared),
      health: new api.grpc.health.v1.Health(address, credentials, shared),
    };
  }

  /** Closes the channel; calls in flight are cancelled. */
  close(): void {
    this.stubs.inference.close();
  }

  /**
   * Starts a generation from a text prompt or a full GenerateRequest. A
   * request without request_id gets a random one, so cancel() works even
   * while it waits in the queue. With `sessionId` the prompt is appended to
   * that session's history on the server (send only the new turn); the
   * `started` event then reports `sessionCache`, `sessionTokens` and
   * `cachedTokens`. With `constraint` (one of `grammar`, `jsonSchema`,
   * `regex`) the output keeps to it and the stream ends with
   * `FINISH_REASON_CONSTRAINT_COMPLETE` once nothing more can follow; a
   * constraint with more than one kind (or none) throws a TypeError here,
   * before anything is sent.
   */
  generate(prompt: string | GenerateParams, options: CallOptions = {}): Generation {
    const { constraint, ...fields } = typeof prompt === 'string' ? { text: prompt } : (prompt as GenerateParams);
    const request: GenerateRequest = { ...fields };
    if (constraint) request.constraint = toConstraint(constraint);
    request.runtime ||= this.runtime;
    request.requestId ||= randomUUID();
    const call = this.stubs.inference.generate(
      request,
      options.metadata ?? new grpc.Metadata(),
      grpcCallOptions(options, this.timeoutMs),
    );
    return new Generation(request.requestId, call, options.signal);
  }

  /** Generates the assistant's answer to chat messages, formatted with the model's chat template. */
  chat(messages: ChatMessage[], params: ChatParams = {}, options: CallOptions = {}): Generation {
    const { template, addGenerationPrompt, ...rest } = params;
    return this.generate({ ...rest, chat: { messages, template, addGenerationPrompt } }, options);
  }

  /**
   * One embedding vector per text (at most 256), with the model's pooling
   * and unit length unless `params` says otherwise. Queued like generate().
   */
  async embed(texts: string[], params: EmbedParams = {}, options: CallOptions = {}): Promise<Embeddings> {
    const request = embedRequest(texts, params, this.runtime);
    const response = await this.unary<EmbedResponse__Output>(
      (md, o, cb) => this.stubs.inference.embed(request, md, o, cb),
      options,
    );
    return embeddingsOf(response);
  }

  /** Cancels a queued or running generation by its request id. */
  cancel(requestId: string, options: CallOptions = {}): Promise<CancelResponse__Output> {
    return this.unary((md, o, cb) => this.stubs.inference.cancel({ requestId }, md, o, cb), options);
  }

  async tokenize(text: string, params: TokenizeParams = {}, options: CallOptions = {}): Promise<number[]> {
    const request = { ...params, text, runtime: params.runtime || this.runtime };
    const response = await this.unary<TokenizeResponse__Output>(
      (md, o, cb) => this.stubs.inference.tokenize(request, md, o, cb),
      options,
    );
    return response.ids;
  }

  async detokenize(ids: number[], options: CallOptions & { runtime?: string } = {}): Promise<string> {
    const request = { ids, runtime: options.runtime || this.runtime };
    const response = await this.unary<DetokenizeResponse__Output>(
      (md, o, cb) => this.stubs.inference.detokenize(request, md, o, cb),
      options,
    );
    return response.text;
  }

  /** Loads a model (a path in the server's model dir): progress events, then the model info. */
  loadModel(path: string, params: Omit<LoadModelRequest, 'path'> = {}, options: CallOptions = {}): ModelLoad {
    const request: LoadModelRequest = { ...params, path, runtime: params.runtime || this.runtime };
    const call = this.stubs.runtime.loadModel(
      request,
      options.metadata ?? new grpc.Metadata(),
      grpcCallOptions(options, this.timeoutMs),
    );
    return new ModelLoad(call, options.signal);
  }

  /** The runtime's status; `fresh` asks the runtime itself instead of its last snapshot. */
  status(
    params: { runtime?: string; fresh?: boolean } = {},
    options: CallOptions = {},
  ): Promise<RuntimeStatus__Output> {
    const request = { ...params, runtime: params.runtime || this.runtime };
    return this.unary((md, o, cb) => this.stubs.diagnostics.getStatus(request, md, o, cb), options);
  }

  /**
   * grpc.health.v1 Check: "" is the whole server, "ggufd.v1.Inference" is
   * SERVING only while the default runtime has a usable model.
   */
  async health(service = '', options: CallOptions = {}): Promise<ServingStatus> {
    const response = await this.unary<HealthCheckResponse__Output>(
      (md, o, cb) => this.stubs.health.check({ service }, md, o, cb),
      options,
    );
    return response.status;
  }

  modelInfo(runtime = '', options: CallOptions = {}): Promise<ModelInfo__Output> {
    const request = { runtime: runtime || this.runtime };
    return this.unary((md, o, cb) => this.stubs.runtime.getModelInfo(request, md, o, cb), options);
  }

  configure(request: ConfigureRequest, options: CallOptions = {}): Promise<ConfigureResponse__Output> {
    const full = { ...request, runtime: request.runtime || this.runtime };
    return this.unary((md, o, cb) => this.stubs.runtime.configure(full, md, o, cb), options);
  }

  /** Clears the KV cache and a poisoned state; the model stays loaded. */
  async reset(runtime = '', options: CallOptions = {}): Promise<void> {
    const request = { runtime: runtime || this.runtime };
    await this.unary((md, o, cb) => this.stubs.runtime.reset(request, md, o, cb), options);
  }

  /** Drops the runtime's model and its memory. */
  async release(runtime = '', options: CallOptions = {}): Promise<void> {
    const request = { runtime: runtime || this.runtime };
    await this.unary((md, o, cb) => this.stubs.runtime.release(request, md, o, cb), options);
  }

  createRuntime(name: string, queueCapacity = 0, options: CallOptions = {}): Promise<RuntimeInfo__Output> {
    return this.unary((md, o, cb) => this.stubs.runtime.createRuntime({ name, queueCapacity }, md, o, cb), options);
  }

  async deleteRuntime(name: string, options: CallOptions = {}): Promise<void> {
    await this.unary((md, o, cb) => this.stubs.runtime.deleteRuntime({ name }, md, o, cb), options);
  }

  async listRuntimes(options: CallOptions = {}): Promise<RuntimeInfo__Output[]> {
    const response = await this.unary<ListRuntimesResponse__Output>(
      (md, o, cb) => this.stubs.runtime.listRuntimes({}, md, o, cb),
      options,
    );
    return response.runtimes;
  }

  /** The runtime's sessions, most recently used first, and the KV cache bytes they hold against their budget. */
  listSessions(params: SessionParams = {}, options: CallOptions = {}): Promise<ListSessionsResponse__Output> {
    const request = { runtime: params.runtime || this.runtime };
    return this.unary((md, o, cb) => this.stubs.sessions.listSessions(request, md, o, cb), options);
  }

  /** Drops a session (history and KV cache; its saved files stay); `found` says whether it existed. */
  deleteSession(
    sessionId: string,
    params: SessionParams = {},
    options: CallOptions = {},
  ): Promise<DeleteSessionResponse__Output> {
    const request = { sessionId, runtime: params.runtime || this.runtime };
    return this.unary((md, o, cb) => this.stubs.sessions.deleteSession(request, md, o, cb), options);
  }

  /** A new session `newSessionId` starting from a copy of another's history and KV cache (rewind, branch). */
  forkSession(
    sessionId: string,
    newSessionId: string,
    params: ForkSessionParams = {},
    options: CallOptions = {},
  ): Promise<SessionInfo__Output> {
    const request = { ...params, sessionId, newSessionId, runtime: params.runtime || this.runtime };
    return this.unary((md, o, cb) => this.stubs.sessions.forkSession(request, md, o, cb), options);
  }

  /**
   * Writes a session to a file in the server's state directory (--state-dir);
   * `path` is relative to it ("" = "<sessionId>.session").
   */
  saveSession(
    sessionId: string,
    path = '',
    params: SessionParams = {},
    options: CallOptions = {},
  ): Promise<SaveSessionResponse__Output> {
    const request = { sessionId, path, runtime: params.runtime || this.runtime };
    return this.unary((md, o, cb) => this.stubs.sessions.saveSession(request, md, o, cb), options);
  }

  /** Loads a session written by saveSession (ALREADY_EXISTS onto an existing id unless `replace`). */
  restoreSession(
    path: string,
    params: RestoreSessionParams = {},
    options: CallOptions = {},
  ): Promise<SessionInfo__Output> {
    const request = { ...params, path, runtime: params.runtime || this.runtime };
    return this.unary((md, o, cb) => this.stubs.sessions.restoreSession(request, md, o, cb), options);
  }

  /**
   * Runs a unary call on one of `stubs` with this client's deadline, signal
   * and error handling: `client.unary((md, o, cb) => client.stubs.x.y(req, md, o, cb))`.
   */
  unary<Res>(
    start: (
      metadata: grpc.Metadata,
      options: grpc.CallOptions,
      callback: grpc.requestCallback<Res>,
    ) => grpc.ClientUnaryCall,
    options: CallOptions = {},
  ): Promise<Res> {
    return unaryCall(start, options, this.timeoutMs);
  }
}
