/**
 * The identifiers Token Warden hands out (`<prefix>_` and 26 lowercase base32 characters, see `naming.ts`) and the
 * schemas of the ids and counters a workflow passes between its steps.
 */
import * as z from './schema';

export const TOKEN_ID = /^tok_[a-z2-7]{26}$/;
export const REQUEST_ID = /^req_[a-z2-7]{26}$/;
export const APPROVAL_ID = /^apv_[a-z2-7]{26}$/;
export const UPLOAD_ID = /^upl_[a-z2-7]{26}$/;

/** A token id, `tok_…`. */
export const tokenId = z.string().check(z.regex(TOKEN_ID));
/** A request id, `req_…`. */
export const requestId = z.string().check(z.regex(REQUEST_ID));
/** A token generation: 1 is the issued token, each rotation adds one. */
export const generation = z.int().check(z.minimum(1));
/** A generation a rotation creates (2 onwards). */
export const rotatedGeneration = z.int().check(z.minimum(2));
/** One attempt of a rotation, from 1. */
export const attempt = z.int().check(z.minimum(1));
/** A Step Functions task token (`.waitForTaskToken`). */
export const taskToken = z.string().check(z.minLength(1), z.maxLength(8192));
/** The error a `Catch` hands the next state. */
export const caughtError = z.object({ Error: z.optional(z.string()), Cause: z.optional(z.string()) });
