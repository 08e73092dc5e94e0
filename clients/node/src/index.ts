// @ggufd/client: a TypeScript client for the ggufd gRPC API.
export { type CallOptions, ServerStream } from './calls';
export { type ChatParams, type ClientOptions, GgufdClient, type Stubs, type TokenizeParams } from './client';
export { ErrorCode, type FieldViolation, GgufdError } from './errors';
export { DEFAULT_RETRY_POLICY, type RetryPolicy, serviceConfigJson } from './service_config';
export { Generation, ModelLoad } from './streams';
export { PROTO_DIR } from './protos';

// The message types, as the generated code names them (Foo is what a request
// accepts, Foo__Output what a response holds).
export type * from './generated/ggufd/v1/ChatMessage';
export type * from './generated/ggufd/v1/Chunk';
export type * from './generated/ggufd/v1/Finished';
export type * from './generated/ggufd/v1/GenerateEvent';
export type * from './generated/ggufd/v1/GenerateRequest';
export type * from './generated/ggufd/v1/LoadModelEvent';
export type * from './generated/ggufd/v1/ModelInfo';
export type * from './generated/ggufd/v1/RuntimeStatus';
export type * from './generated/ggufd/v1/RuntimeCounters';
export type * from './generated/ggufd/v1/SamplingParams';
export type * from './generated/ggufd/v1/StoppingParams';
export type * from './generated/ggufd/v1/Started';
export type * from './generated/ggufd/v1/Usage';
export type * from './generated/ggufd/v1/Timings';
