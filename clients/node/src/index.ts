// @ggufd/client: a TypeScript client for the ggufd gRPC API.
export { type CallOptions, ServerStream } from './calls';
export { type ConstraintParams, type JsonSchemaValue, toConstraint } from './constraint';
export { type EmbedParams, type Embeddings } from './embeddings';
export {
  type ChatParams,
  type ClientOptions,
  type ForkSessionParams,
  type GenerateParams,
  GgufdClient,
  type RestoreSessionParams,
  type SessionParams,
  type Stubs,
  type TokenizeParams,
} from './client';
export {
  AccessDeniedError,
  ErrorCode,
  type ErrorReason,
  type FieldViolation,
  GgufdError,
  type GgufdErrorInit,
  LimitExceededError,
  MessageTooLargeError,
  reasonOf,
  toGgufdError,
  UnauthenticatedError,
} from './errors';
export { bearerTokenInterceptor, type TlsOptions, type TokenSource } from './security';
export { DEFAULT_RETRY_POLICY, type RetryPolicy, serviceConfigJson } from './service_config';
export { Generation, ModelLoad } from './streams';
export { PROTO_DIR } from './protos';
// SessionCache is a value too (the names of Started.sessionCache).
export { SessionCache, type SessionCache__Output } from './generated/ggufd/v1/SessionCache';
// FinishReason and Pooling name the values of Finished.reason and
// Embeddings.pooling (FINISH_REASON_CONSTRAINT_COMPLETE, POOLING_MEAN, ...).
export { FinishReason, type FinishReason__Output } from './generated/ggufd/v1/FinishReason';
export { Pooling, type Pooling__Output } from './generated/ggufd/v1/Pooling';

// The message types, as the generated code names them (Foo is what a request
// accepts, Foo__Output what a response holds).
export type * from './generated/ggufd/v1/ChatMessage';
export type * from './generated/ggufd/v1/Constraint';
export type * from './generated/ggufd/v1/Chunk';
export type * from './generated/ggufd/v1/Finished';
export type * from './generated/ggufd/v1/GenerateEvent';
export type * from './generated/ggufd/v1/GenerateRequest';
export type * from './generated/ggufd/v1/ListSessionsResponse';
export type * from './generated/ggufd/v1/LoadModelEvent';
export type * from './generated/ggufd/v1/LoadModelRequest';
export type * from './generated/ggufd/v1/ModelInfo';
export type * from './generated/ggufd/v1/RuntimeStatus';
export type * from './generated/ggufd/v1/RuntimeCounters';
export type * from './generated/ggufd/v1/SamplingParams';
export type * from './generated/ggufd/v1/SaveSessionResponse';
export type * from './generated/ggufd/v1/SessionInfo';
export type * from './generated/ggufd/v1/SessionStats';
export type * from './generated/ggufd/v1/StoppingParams';
export type * from './generated/ggufd/v1/Started';
export type * from './generated/ggufd/v1/Usage';
export type * from './generated/ggufd/v1/Timings';
