// The constraint a generation's output is held to (GenerateRequest.constraint),
// as generate() and chat() accept it: one kind, the JSON Schema possibly as
// the schema object itself.
import type { Constraint } from './generated/ggufd/v1/Constraint';

/** A JSON Schema document as a value (an object, or the boolean schemas). */
export type JsonSchemaValue = { [key: string]: unknown } | boolean;

/**
 * Restricts the output to a formal language; give exactly one field. The
 * stream then ends with `FINISH_REASON_CONSTRAINT_COMPLETE` once nothing more
 * can follow; a constraint the server cannot use is an `INVALID_ARGUMENT`
 * GgufdError.
 */
export interface ConstraintParams {
  /** A grammar in llama.cpp's GBNF; the output is a sentence of rule `root`. */
  grammar?: string;
  /** A JSON Schema (its JSON text, or the schema value, sent as JSON.stringify gives it). */
  jsonSchema?: string | JsonSchemaValue;
  /** A regular expression the whole output must match. */
  regex?: string;
}

const KINDS = ['grammar', 'jsonSchema', 'regex'] as const;

/**
 * The wire Constraint for `params`. Throws a TypeError unless exactly one
 * kind is set: the message's oneof would otherwise keep whichever the server
 * reads last.
 */
export function toConstraint(params: ConstraintParams): Constraint {
  const given = KINDS.filter((kind) => params[kind] !== undefined && params[kind] !== null);
  if (given.length !== 1) {
    throw new TypeError(
      `constraint: give exactly one of grammar, jsonSchema and regex; got ${given.join(' and ') || 'none'}`,
    );
  }
  const kind = given[0];
  if (kind === 'jsonSchema') {
    const schema = params.jsonSchema;
    return { jsonSchema: typeof schema === 'string' ? schema : JSON.stringify(schema) };
  }
  const text = params[kind];
  if (typeof text !== 'string') throw new TypeError(`constraint: ${kind} must be a string`);
  return { [kind]: text };
}
