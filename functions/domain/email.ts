import { domainToASCII } from 'node:url';

/**
 * The emails that identify people (callers of the API, approvers signing in) are compared lower-cased everywhere, so
 * they must be plain ASCII: a Unicode email could lower-case or normalise onto another member's (`\u212Aate@…`, with
 * a KELVIN SIGN, lower-cases to `kate@…`; a fullwidth `ｋ` folds to `k` under NFKC). Such an email is refused, never
 * folded: a dot-atom local part (no quoted forms) and a domain of letters, digits and hyphens, an internationalised
 * domain in its IDNA (`xn--`) form. Policy emails pass zod's email format, a subset of this rule.
 */
const LOCAL_PART = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

export const MAX_EMAIL_LENGTH = 254;

/** The email lower-cased when it is a plain ASCII address (see above), else `undefined`. */
export function plainEmail(value: string): string | undefined {
  // ASCII never changes under NFKC; a string that does is not ASCII. Both are said, so neither is left to chance.
  if (value.normalize('NFKC') !== value || !/^[\x21-\x7e]+$/.test(value)) return undefined;
  if (value.length > MAX_EMAIL_LENGTH) return undefined;
  const at = value.lastIndexOf('@');
  const local = value.slice(0, at);
  const domain = value.slice(at + 1);
  if (at < 1 || local.length > 64 || !LOCAL_PART.test(local) || !DOMAIN.test(domain)) return undefined;
  // An `xn--` label must be valid IDNA: the WHATWG mapping gives back the same (lower-cased) name, or nothing.
  if (/(?:^|\.)xn--/i.test(domain) && domainToASCII(domain) !== domain.toLowerCase()) return undefined;
  return value.toLowerCase();
}

/** Whether an `email_verified` claim says no: `false`, or `"false"` as API Gateway's JWT authorizer hands it over. */
export function emailUnverified(claim: unknown): boolean {
  return claim === false || claim === 'false';
}
