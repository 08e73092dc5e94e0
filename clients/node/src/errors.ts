// The error type the client throws for a failed RPC, with ggufd's
// google.rpc details (ErrorInfo, RetryInfo, BadRequest) decoded from the
// grpc-status-details-bin trailer, and a subclass of it for each refusal by
// ggufd's security layer (credentials, role, limits), so callers can tell
// them apart with instanceof.
import * as grpc from '@grpc/grpc-js';

import type { ErrorCode as GeneratedErrorCode } from './generated/ggufd/v1/ErrorCode';
import { loadErrorCodeEnum, loadRpcDetailTypes } from './protos';

// The enum's value names are ERROR_CODE_<reason>; the table drops the prefix.
const ERROR_CODE_PREFIX = 'ERROR_CODE_';
type StripPrefix<K> = K extends `ERROR_CODE_${infer Reason}` ? Reason : never;
/** An ErrorInfo reason ggufd sends: a value name of proto/ggufd/v1/error_code.proto without its prefix. */
export type ErrorReason = Exclude<StripPrefix<keyof typeof GeneratedErrorCode>, 'OK'>;

/**
 * ggufd's numeric error codes (ErrorInfo.metadata["error_code"]) by reason, read from
 * the ggufd.v1.ErrorCode enum (proto/ggufd/v1/error_code.proto, the server's list), so
 * the table can neither lag behind the server nor disagree with it.
 */
export const ErrorCode: Readonly<Record<ErrorReason, number>> = Object.freeze(
  Object.fromEntries(
    Object.entries(loadErrorCodeEnum().values)
      .filter(([, number]) => number !== 0)
      .map(([name, number]) => [name.slice(ERROR_CODE_PREFIX.length), number]),
  ) as Record<ErrorReason, number>,
);

/** The ErrorInfo reason of a numeric error code ("RUNTIME_NOT_FOUND" for 16), undefined for an unknown one. */
export function reasonOf(code: number): ErrorReason | undefined {
  const name = loadErrorCodeEnum().valuesById[code];
  return name === undefined || code === 0 ? undefined : (name.slice(ERROR_CODE_PREFIX.length) as ErrorReason);
}

export interface FieldViolation {
  field: string;
  description: string;
}

const ERROR_DOMAIN = 'ggufd';
const TYPE_PREFIX = 'type.googleapis.com/';

export interface GgufdErrorInit {
  grpcCode: grpc.status;
  details: string;
  reason?: string;
  errorCode?: number;
  retryDelayMs?: number;
  fieldViolations?: FieldViolation[];
  metadata?: grpc.Metadata;
}

export class GgufdError extends Error {
  /** The gRPC status code (grpc.status.*). */
  readonly grpcCode: grpc.status;
  /** The status message as the server (or gRPC) wrote it. */
  readonly details: string;
  /** ErrorInfo.reason, ggufd's error code name ("QUEUE_FULL"); "" when gRPC itself failed the call. */
  readonly reason: string;
  /** ggufd's numeric error code (see ErrorCode); 0 when the status carried no ErrorInfo. */
  readonly errorCode: number;
  /** RetryInfo.retry_delay in milliseconds, when the server says retrying helps. */
  readonly retryDelayMs: number | undefined;
  /** BadRequest field violations, for INVALID_ARGUMENT. */
  readonly fieldViolations: FieldViolation[];
  /** The response trailers. */
  readonly metadata: grpc.Metadata;

  constructor(init: GgufdErrorInit) {
    const suffix = init.reason ? ` [${init.reason} ${init.errorCode ?? 0}]` : '';
    super(`${grpc.status[init.grpcCode] ?? init.grpcCode}: ${init.details}${suffix}`);
    this.name = new.target.name;
    this.grpcCode = init.grpcCode;
    this.details = init.details;
    this.reason = init.reason ?? '';
    this.errorCode = init.errorCode ?? 0;
    this.retryDelayMs = init.retryDelayMs;
    this.fieldViolations = init.fieldViolations ?? [];
    this.metadata = init.metadata ?? new grpc.Metadata();
  }

  /** The gRPC code's name, e.g. "RESOURCE_EXHAUSTED". */
  get grpcCodeName(): string {
    return grpc.status[this.grpcCode] ?? String(this.grpcCode);
  }
}

/**
 * UNAUTHENTICATED (21): no token or client certificate, or one the server's
 * auth file does not list. Also a bare UNAUTHENTICATED status (gRPC's own
 * services refuse without ErrorInfo; then `reason` is "").
 */
export class UnauthenticatedError extends GgufdError {}

/**
 * ACCESS_DENIED (22, PERMISSION_DENIED): the caller's role or ownership
 * forbids the call, e.g. an inference token calling the Runtime service. Also
 * a bare PERMISSION_DENIED status without ErrorInfo.
 */
export class AccessDeniedError extends GgufdError {}

/**
 * MESSAGE_TOO_LARGE (23, RESOURCE_EXHAUSTED): the request is larger than the
 * server's --max-receive-message-bytes. Also gRPC's own "message larger than
 * max" refusals, without ErrorInfo. Retrying cannot help.
 */
export class MessageTooLargeError extends GgufdError {}

/**
 * LIMIT_EXCEEDED (24): a configured limit refused the request; INVALID_ARGUMENT
 * with `fieldViolations` naming the field (--max-prompt-tokens,
 * --max-new-tokens) or RESOURCE_EXHAUSTED (--max-runtimes). Retrying cannot help.
 */
export class LimitExceededError extends GgufdError {}

/** The class for a status: by ErrorInfo reason, else (no ErrorInfo) by the gRPC code. */
function errorClass(fields: GgufdErrorInit): typeof GgufdError {
  switch (fields.reason) {
    case 'UNAUTHENTICATED':
      return UnauthenticatedError;
    case 'ACCESS_DENIED':
      return AccessDeniedError;
    case 'MESSAGE_TOO_LARGE':
      return MessageTooLargeError;
    case 'LIMIT_EXCEEDED':
      return LimitExceededError;
    case undefined:
    case '':
      break;
    default:
      // Another ggufd reason, e.g. PERMISSION_DENIED (11) for a model file.
      return GgufdError;
  }
  switch (fields.grpcCode) {
    case grpc.status.UNAUTHENTICATED:
      return UnauthenticatedError;
    case grpc.status.PERMISSION_DENIED:
      return AccessDeniedError;
    case grpc.status.RESOURCE_EXHAUSTED:
      // gRPC's wording for a message over its size limit, either side.
      return /message larger than max/i.test(fields.details) ? MessageTooLargeError : GgufdError;
    default:
      return GgufdError;
  }
}

interface AnyMessage {
  type_url?: string;
  value?: Uint8Array;
}

/**
 * Converts a grpc-js ServiceError into a GgufdError (or the subclass its
 * reason names), for calls made on `client.stubs` directly. A trailer that does not
 * decode leaves the details empty rather than hiding the status itself.
 */
export function toGgufdError(error: unknown): unknown {
  if (error instanceof GgufdError || !isServiceError(error)) return error;
  const fields: GgufdErrorInit = {
    grpcCode: error.code,
    details: error.details,
    metadata: error.metadata,
  };
  const trailer = error.metadata?.get('grpc-status-details-bin')[0];
  if (trailer instanceof Buffer) {
    try {
      Object.assign(fields, decodeDetails(trailer));
    } catch {
      // A malformed trailer: the code and message still say what failed.
    }
  }
  return new (errorClass(fields))(fields);
}

function decodeDetails(trailer: Buffer): Partial<GgufdErrorInit> {
  const types = loadRpcDetailTypes();
  const status = types.status.toObject(types.status.decode(trailer)) as { details?: AnyMessage[] };
  const out: Partial<GgufdErrorInit> = {};
  for (const any of status.details ?? []) {
    const typeName = any.type_url?.startsWith(TYPE_PREFIX) ? any.type_url.slice(TYPE_PREFIX.length) : any.type_url;
    const value = any.value ?? new Uint8Array();
    if (typeName === 'google.rpc.ErrorInfo') {
      const info = types.errorInfo.toObject(types.errorInfo.decode(value)) as {
        reason?: string;
        domain?: string;
        metadata?: Record<string, string>;
      };
      if (info.domain !== ERROR_DOMAIN) continue;
      out.reason = info.reason ?? '';
      const code = Number.parseInt(info.metadata?.error_code ?? '', 10);
      out.errorCode = Number.isFinite(code) ? code : 0;
    } else if (typeName === 'google.rpc.RetryInfo') {
      const retry = types.retryInfo.toObject(types.retryInfo.decode(value), { longs: Number }) as {
        retry_delay?: { seconds?: number; nanos?: number };
      };
      if (retry.retry_delay) {
        const { seconds = 0, nanos = 0 } = retry.retry_delay;
        out.retryDelayMs = seconds * 1000 + Math.round(nanos / 1e6);
      }
    } else if (typeName === 'google.rpc.BadRequest') {
      const bad = types.badRequest.toObject(types.badRequest.decode(value)) as {
        field_violations?: FieldViolation[];
      };
      out.fieldViolations = (bad.field_violations ?? []).map((v) => ({
        field: v.field ?? '',
        description: v.description ?? '',
      }));
    }
  }
  return out;
}

function isServiceError(error: unknown): error is grpc.ServiceError {
  return (
    error instanceof Error &&
    typeof (error as Partial<grpc.ServiceError>).code === 'number' &&
    (error as Partial<grpc.ServiceError>).metadata instanceof grpc.Metadata
  );
}
