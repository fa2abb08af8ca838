import { plainEmail } from '../domain/email';
import { RequestError, validationError } from '../domain/errors';
import type { Caller, RequestStatus, TokenStatus } from '../domain/model';
import { ALIAS_PATTERN } from '../domain/naming';

/** A list route's query string, as API Gateway hands it over. */
export type ListQuery = Record<string, string | undefined>;

export const TOKEN_STATUSES: readonly TokenStatus[] = ['ACTIVE', 'ROTATING', 'REVOKED', 'EXPIRED'];
export const REQUEST_STATUSES: readonly RequestStatus[] = [
  'PENDING_APPROVAL',
  'APPROVED',
  'ISSUED',
  'REJECTED',
  'EXPIRED',
  'FAILED',
];

/** Refuses the first query parameter outside `allowed`, by name (as every list route does). */
export function refuseUnknownParams(query: ListQuery, allowed: readonly string[]): void {
  const unknown = Object.keys(query).find((k) => !allowed.includes(k));
  if (unknown !== undefined) throw validationError(unknown, `unknown query parameter '${unknown}'`);
}

/** The `field` parameter when it is one of `allowed` (exactly, upper case), undefined when absent. */
export function parseStatus<T extends string>(query: ListQuery, field: string, allowed: readonly T[]): T | undefined {
  const raw = query[field];
  if (raw === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(raw)) {
    throw validationError(field, `${field} must be one of ${allowed.join(', ')}`);
  }
  return raw as T;
}

/**
 * The `serviceAccount` parameter when it is a well-formed alias. An alias the current policy no longer lists is
 * still a filter: the records made under it stay listed under it.
 */
export function parseServiceAccount(query: ListQuery): string | undefined {
  const raw = query.serviceAccount;
  if (raw === undefined) return undefined;
  if (!ALIAS_PATTERN.test(raw))
    throw validationError('serviceAccount', 'serviceAccount must match [a-zA-Z0-9_-]{1,64}');
  return raw;
}

/**
 * Whose records a list holds, from its person parameter (`owner`, `requester`): an admin's listing is everyone's, or
 * the one person's given; a member's is always their own. Naming oneself is allowed (in any case); a member naming
 * anyone else asks for what only admins may see, which is 403, as for members on admin routes.
 */
export function listedPerson(caller: Caller, query: ListQuery, field: string): string | undefined {
  const raw = query[field];
  const person = raw === undefined ? undefined : plainEmail(raw.trim());
  if (raw !== undefined && person === undefined) throw validationError(field, `${field} must be an email address`);
  if (caller.isAdmin) return person;
  if (person !== undefined && person !== caller.email) {
    throw new RequestError('FORBIDDEN', `only admins can list another person's records by ${field}`, field);
  }
  return caller.email;
}
