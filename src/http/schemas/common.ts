/**
 * TypeBox schemas shared by routes. They validate requests (unknown fields refused) and, as
 * response schemas per status, decide what is serialised: a field not declared here (a password
 * hash, an internal column) can never reach a client.
 */
import { Type } from 'typebox';
import { ERRORS } from '../../errors.js';

export const ErrorBody = Type.Object(
  {
    error: Type.Union(Object.keys(ERRORS).map((code) => Type.Literal(code))),
    message: Type.String(),
  },
  { $id: 'ErrorBody', description: 'Every error: a stable code and a message for humans.' },
);

export const IsoTime = Type.String({ format: 'date-time' });

export const User = Type.Object({ id: Type.String(), username: Type.String(), created_at: IsoTime });

/** Response schemas for the error statuses a route can produce. */
export function errors(...statuses: number[]): Record<number, typeof ErrorBody> {
  return Object.fromEntries([...statuses, 503].map((s) => [s, ErrorBody]));
}

export const NoContent = Type.Null({ description: 'No content' });

export const Strict = { additionalProperties: false } as const;
