// Inference.Embed as embed() takes and returns it.
import type { EmbedRequest } from './generated/ggufd/v1/EmbedRequest';
import type { EmbedResponse__Output } from './generated/ggufd/v1/EmbedResponse';
import { Pooling, type Pooling__Output } from './generated/ggufd/v1/Pooling';

/** embed()'s settings; leaving them out asks for the model's pooling, unit vectors and no truncation. */
export interface EmbedParams {
  /** Runtime to run on ("" = the client's). */
  runtime?: string;
  /** Names the call in logs and for cancel(); the server makes one when unset. */
  requestId?: string;
  /** `'mean'`, `'last'`, `'cls'` or a `Pooling` name; unset = the model's own. */
  pooling?: Pooling | 'mean' | 'last' | 'cls';
  /** Scale each vector to unit L2 norm (default true). */
  normalize?: boolean;
  /** Keep the first tokens of a text longer than the context instead of failing with INVALID_ARGUMENT. */
  truncate?: boolean;
  /** Add BOS/EOS (unset = the model's rule). */
  addSpecial?: boolean;
}

/** One vector per text, in the order of the texts. */
export interface Embeddings {
  /** `dimensions` values each. */
  vectors: number[][];
  /** Per text: the tokens its vector was computed from (after any truncation). */
  tokens: number[];
  /** Per text: whether it was cut to fit the context. */
  truncated: boolean[];
  /** The model's general.name (or file name). */
  model: string;
  /** The pooling actually applied. */
  pooling: Pooling__Output;
  dimensions: number;
  /** Tokens over all texts. */
  promptTokens: number;
}

const SHORT_POOLING: Record<string, Pooling> = {
  mean: Pooling.POOLING_MEAN,
  last: Pooling.POOLING_LAST,
  cls: Pooling.POOLING_CLS,
};

// protobufjs would send an unknown name as POOLING_UNSPECIFIED without a word.
function poolingOf(pooling: EmbedParams['pooling']): Pooling | undefined {
  if (typeof pooling !== 'string') return pooling;
  const value = SHORT_POOLING[pooling] ?? pooling;
  if (!Object.values(Pooling).includes(value as Pooling__Output)) {
    throw new TypeError(`embed: unknown pooling '${pooling}' (use mean, last or cls)`);
  }
  return value;
}

export function embedRequest(texts: string[], params: EmbedParams, runtime: string): EmbedRequest {
  // A lone string would be sent as its characters, one text each.
  if (!Array.isArray(texts)) throw new TypeError('embed: texts must be an array of strings');
  const { pooling, ...rest } = params;
  return {
    ...rest,
    texts,
    runtime: params.runtime || runtime,
    pooling: poolingOf(pooling),
  };
}

export function embeddingsOf(response: EmbedResponse__Output): Embeddings {
  return {
    vectors: response.embeddings.map((e) => e.values),
    tokens: response.embeddings.map((e) => e.tokens),
    truncated: response.embeddings.map((e) => e.truncated),
    model: response.model,
    pooling: response.pooling,
    dimensions: response.dimensions,
    promptTokens: response.promptTokens,
  };
}
