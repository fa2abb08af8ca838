/**
 * Adversarial inputs and response checks for the HTTP fuzz suite (test/unit/security/http-fuzz.test.ts).
 * Every arbitrary here produces hostile-but-plausible payload-format-2.0 pieces; every check encodes the contract of
 * /work/shared/notes/product.md ("HTTP API", "Errors", "Approval page") independently of the product code.
 */
import fc from 'fast-check';
import type { ApiEvent, ApiResult } from '../../functions/edge/http';
import { stringifyClaims } from '../../local/api-gateway';
import { apiEvent, bearerToken } from './events';

// ---------------------------------------------------------------- the contract

/** Error codes of the contract table and their status (JSON routes). */
export const CONTRACT_ERRORS: Readonly<Record<string, number>> = {
  VALIDATION_ERROR: 400,
  POLICY_VIOLATION: 400,
  UNAUTHORIZED: 401,
  FORBIDDEN: 403,
  NOT_FOUND: 404,
  CONFLICT: 409,
  IDEMPOTENCY_KEY_REUSED: 409,
  PAYLOAD_TOO_LARGE: 413,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_MANY_REQUESTS: 429,
};

/** 64 KB, the contract's body limit. */
export const BODY_LIMIT = 64 * 1024;

// ---------------------------------------------------------------- strings

/** Characters that break naive code: NUL, lone surrogates, bidi overrides, zero-widths, path and quote characters. */
export const NASTY_CHARS = [
  '\u0000',
  '\u0001',
  '\u001f',
  '\u007f',
  '\ud800',
  '\udfff',
  '\udbff',
  '\u202e',
  '\u202d',
  '\u200f',
  '\u200b',
  '\ufeff',
  '\ufffd',
  '\u2028',
  '\u2029',
  '\n',
  '\r',
  '\t',
  '"',
  "'",
  '\\',
  '/',
  '<',
  '>',
  '&',
  '%',
  '#',
  '?',
  '@',
  ' ',
  '😀',
  'İ',
  'ß',
  'ﬀ',
  'Ａ',
  '١',
];

const nastyChar = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom(...NASTY_CHARS) },
  { weight: 3, arbitrary: fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }) },
  { weight: 3, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 1 }) },
);

/** Short strings mixing ASCII, any code point, and the nasty characters above (lone surrogates included). */
export const weirdString = (maxLength = 40) => fc.string({ unit: nastyChar, maxLength });

/** Famous hostile strings. */
export const HOSTILE_STRINGS = [
  '',
  ' ',
  '../',
  '../../../../etc/passwd',
  '..%2f..%2fetc%2fpasswd',
  '%00',
  '\u0000',
  'a\u0000b',
  '%2e%2e%2f',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  // biome-ignore lint/suspicious/noTemplateCurlyInString: a log4shell probe, meant literally
  '${jndi:ldap://x}',
  '{{7*7}}',
  "' OR 1=1 --",
  '<script>alert(1)</script>',
  '\u202eevil',
  '\ud800',
  '\udc00\ud800',
  'null',
  'undefined',
  'NaN',
  '[object Object]',
];

export const hostileString = fc.oneof(
  { weight: 3, arbitrary: weirdString() },
  { weight: 2, arbitrary: fc.constantFrom(...HOSTILE_STRINGS) },
  { weight: 1, arbitrary: fc.integer({ min: 300, max: 5_000 }).map((n) => 'x'.repeat(n)) },
);

// ---------------------------------------------------------------- JSON bodies

/** Raw JSON texts of values, including numbers JSON.parse turns into surprises (Infinity, -0, rounding). */
export const rawJsonValue: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v)) },
  { weight: 3, arbitrary: hostileString.map((s) => JSON.stringify(s)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      '1e400',
      '-1e400',
      '-0',
      '0',
      '30.0',
      '3e1',
      '30.5',
      '1e-400',
      '9007199254740993',
      '-30',
      '366',
      '365',
      '"30"',
      'true',
      'null',
      '[]',
      '{}',
      '[null]',
      '["read:jira-work","read:jira-work"]',
      '["read:jira-work",1]',
      `[${Array.from({ length: 60 }, (_, i) => `"s${i}"`).join(',')}]`,
      '{"__proto__":{"polluted":true}}',
      '{"constructor":{"prototype":{"polluted":true}}}',
      '"\\u0000"',
      '"\\ud800"',
      '"\\u202e"',
    ),
  },
  // A raw (unescaped) lone surrogate or NUL inside a string literal.
  { weight: 1, arbitrary: fc.constantFrom('"\ud800"', '"a\u0000b"', '"\u202e\u200f"') },
);

/** Object text built entry by entry, so keys like `__proto__` stay own keys of the text (JSON.stringify would not). */
export function objectText(entries: readonly (readonly [string, string])[]): string {
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
}

export const PROTO_KEYS = ['__proto__', 'constructor', 'prototype'] as const;

/**
 * Mutations of a valid body: fields dropped, re-typed, or added (prototype keys and junk included). `plausible`
 * gives, per known field, raw JSON texts of values that are valid or nearly so (to reach the deeper checks).
 */
export function mutatedObjectText(
  valid: Record<string, unknown>,
  plausible: Record<string, fc.Arbitrary<string>> = {},
): fc.Arbitrary<string> {
  const known = Object.keys(valid);
  const plausibleKeys = Object.keys(plausible);
  const override: fc.Arbitrary<[string, string]> = fc
    .constantFrom(...(plausibleKeys.length === 0 ? known : plausibleKeys))
    .chain((k) => fc.tuple(fc.constant(k), plausible[k] ?? rawJsonValue));
  const key = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(...known) },
    { weight: 2, arbitrary: fc.constantFrom(...PROTO_KEYS) },
    { weight: 1, arbitrary: fc.constantFrom('requester', 'status', 'tokenId', 'isAdmin', 'admin', 'owner') },
    { weight: 1, arbitrary: weirdString(20) },
  );
  return fc
    .record({
      drop: fc.oneof({ weight: 2, arbitrary: fc.constant<string[]>([]) }, fc.subarray(known)),
      overrides: fc.array(
        plausibleKeys.length === 0 ? fc.tuple(key, rawJsonValue) : fc.oneof(fc.tuple(key, rawJsonValue), override),
        {
          maxLength: 4,
        },
      ),
    })
    .map(({ drop, overrides }) => {
      const entries = new Map<string, string>();
      for (const k of known) if (!drop.includes(k)) entries.set(k, JSON.stringify(valid[k]));
      const out: [string, string][] = [...entries];
      for (const [k, v] of overrides) {
        const i = out.findIndex(([name]) => name === k);
        if (i >= 0) out[i] = [k, v];
        else out.push([k, v]);
      }
      return objectText(out);
    });
}

/** JSON documents nested `depth` levels deep (arrays, objects, or inside a known field). */
export const deepNesting: fc.Arbitrary<string> = fc
  .record({ depth: fc.constantFrom(1_000, 5_000, 20_000), shape: fc.constantFrom('array', 'object', 'field') })
  .map(({ depth, shape }) => {
    if (shape === 'array') return `${'['.repeat(depth)}${']'.repeat(depth)}`;
    if (shape === 'object') return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    return `{"scopes":${'['.repeat(depth)}${']'.repeat(depth)},"reason":${'['.repeat(depth)}${']'.repeat(depth)}}`;
  });

/** Texts that are not JSON at all, or truncated JSON. */
export const invalidJson = (valid: Record<string, unknown>): fc.Arbitrary<string> =>
  fc.oneof(
    fc
      .integer({ min: 1, max: Math.max(1, JSON.stringify(valid).length - 1) })
      .map((n) => JSON.stringify(valid).slice(0, n)),
    fc.constantFrom(
      '{',
      '}',
      '{"a":}',
      "{'a':1}",
      '{"a":1,}',
      '[1,]',
      'NaN',
      'undefined',
      '\ufeff{}',
      '{"a":"\u0000"}',
      '{"__proto__":',
      '<html><body>500</body></html>',
      'serviceAccount=jenkins-bot&name=x',
    ),
    weirdString(200),
  );

/** Bodies just over (and well over) 64 KB, as valid JSON, so only the size is wrong. */
export const oversized = (field: string): fc.Arbitrary<string> =>
  fc
    .record({ extra: fc.integer({ min: 1, max: 4_096 }), char: fc.constantFrom('x', 'é', '😀') })
    .map(({ extra, char }) => {
      const bytesPerChar = Buffer.byteLength(char);
      const filler = char.repeat(Math.ceil((BODY_LIMIT + extra) / bytesPerChar));
      return JSON.stringify({ [field]: filler });
    });

/** Every JSON body shape the fuzz sends to a JSON route. */
export function jsonBodyText(
  valid: Record<string, unknown>,
  bigField: string,
  plausible: Record<string, fc.Arbitrary<string>> = {},
): fc.Arbitrary<string | undefined> {
  return fc.oneof(
    { weight: 8, arbitrary: mutatedObjectText(valid, plausible) },
    { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => JSON.stringify(v)) },
    { weight: 2, arbitrary: invalidJson(valid) },
    { weight: 1, arbitrary: deepNesting },
    { weight: 1, arbitrary: oversized(bigField) },
    {
      weight: 1,
      arbitrary: fc.constantFrom(
        '{"__proto__":{"isAdmin":true,"polluted":true}}',
        '{"constructor":{"prototype":{"polluted":true}}}',
        '{"prototype":{"polluted":true}}',
        `{"__proto__":{"polluted":true},${JSON.stringify(valid).slice(1)}`,
      ),
    },
    { weight: 1, arbitrary: fc.constantFrom('', undefined) },
  );
}

/** How the body travels: as text, base64 (as HTTP APIs send binary/form bodies), or lying about it. */
export type BodyEncoding = 'text' | 'base64' | 'base64-flag-on-text' | 'base64-text-flag-off';
export const bodyEncoding: fc.Arbitrary<BodyEncoding> = fc.constantFrom(
  'text',
  'text',
  'text',
  'base64',
  'base64-flag-on-text',
  'base64-text-flag-off',
);

export const contentType: fc.Arbitrary<string | undefined> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom('application/json', 'application/json; charset=utf-8', 'APPLICATION/JSON'),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      undefined,
      '',
      'text/plain',
      'text/html',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/vnd.api+json',
      'application/json-patch+json',
      'application/jsonx',
      'json',
      'application/json\u0000',
      ' application/json ; charset=utf-16',
      'application/xml',
    ),
  },
  { weight: 1, arbitrary: weirdString(30) },
);

export const formContentType: fc.Arbitrary<string | undefined> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.constantFrom('application/x-www-form-urlencoded', 'application/x-www-form-urlencoded; charset=UTF-8'),
  },
  {
    weight: 3,
    arbitrary: fc.constantFrom(undefined, '', 'application/json', 'text/plain', 'multipart/form-data; boundary=x'),
  },
  { weight: 1, arbitrary: weirdString(30) },
);

// ---------------------------------------------------------------- identity, headers, query

export const ADMIN_GROUP = 'token-warden-admins';

/** Characters that split, quote or bracket a flattened list: each must keep a group name whole. */
export const GROUP_SEPARATORS = [' ', ',', ', ', '\t', '\n', '\r', '\r\n', '"', "'", '[', ']', ';', '|', '\u00a0'];

/** One group name that holds the admin group beside separators (never the admin group itself). */
export const lookAlikeGroup: fc.Arbitrary<string> = fc
  .tuple(
    fc.constantFrom('', 'x', 'devs', ADMIN_GROUP),
    fc.constantFrom(...GROUP_SEPARATORS),
    fc.constantFrom('', ...GROUP_SEPARATORS),
  )
  .map(([other, before, after]) => `${other}${before}${ADMIN_GROUP}${after}`)
  .filter((name) => name !== ADMIN_GROUP);

/**
 * The groups claim of a member's token in every form an IdP might sign (arrays of names, one name as a string) and
 * some no one should; group names that hold the admin group beside separators are never the admin group.
 */
export const groupsClaim: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      [],
      [ADMIN_GROUP],
      ['devs', ADMIN_GROUP],
      [`x ${ADMIN_GROUP}`],
      [`devs,${ADMIN_GROUP}`],
      [`"${ADMIN_GROUP}"`],
      [`[${ADMIN_GROUP}]`],
      [`${ADMIN_GROUP}\t`],
      [`\n${ADMIN_GROUP}`],
      ['x', `y ${ADMIN_GROUP}`],
      [ADMIN_GROUP.toUpperCase()],
      '[]',
      '',
      `[${ADMIN_GROUP}]`,
      ADMIN_GROUP,
      `["${ADMIN_GROUP}"]`,
      `[other ${ADMIN_GROUP}]`,
      `other,${ADMIN_GROUP}`,
      `[${ADMIN_GROUP}`,
      `${ADMIN_GROUP}]`,
      `[${ADMIN_GROUP.toUpperCase()}]`,
      `[${ADMIN_GROUP}x]`,
      `[x${ADMIN_GROUP}]`,
      `[${ADMIN_GROUP}\u0000]`,
      `[token-warden-admin]`,
      `[token warden admins]`,
      '[[]]',
      'null',
    ),
  },
  { weight: 2, arbitrary: fc.array(fc.oneof(fc.constant(ADMIN_GROUP), lookAlikeGroup), { maxLength: 3 }) },
  {
    weight: 2,
    arbitrary: fc.array(fc.oneof(fc.constant(ADMIN_GROUP), weirdString(20), fc.integer()), { maxLength: 4 }),
  },
  { weight: 1, arbitrary: fc.constantFrom(null, 0, 1, true, { [ADMIN_GROUP]: true }, [[ADMIN_GROUP]]) },
  { weight: 1, arbitrary: weirdString(30) },
);

export const EMAILS = {
  alice: 'alice@example.com',
  bob: 'bob@example.com',
  admin: 'admin@example.com',
  approver1: 'approver1@example.com',
};

/** The `email` claim: valid members, case games, non-strings, junk. */
export const emailClaim: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom(...Object.values(EMAILS)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom(
      'ALICE@EXAMPLE.COM',
      ' alice@example.com',
      'alice@example.com ',
      'alice@example.com\u0000',
      'alice\u0000@example.com',
      'alice@example.com,bob@example.com',
      '@',
      'a@',
      '@b',
      'a@b@c',
      'not-an-email',
      '',
      `${'a'.repeat(250)}@example.com`,
      `${'a'.repeat(64)}@${'b'.repeat(185)}.com`,
      '\ud800@example.com',
      '\u202emoc.elpmaxe@ecila',
      // Unicode that case-folds or normalises onto a member: KELVIN SIGN, fullwidth, dotted I, Cyrillic a.
      '\u212Alice@example.com',
      '\uff41lice@example.com',
      'ALİCE@example.com',
      'alice@ex\u0430mple.com',
      'alice@xn--exmple-cua.com',
    ),
  },
  { weight: 1, arbitrary: fc.constantFrom(undefined, null, 42, true, ['alice@example.com'], { email: 'a@b' }) },
  { weight: 1, arbitrary: weirdString(40) },
);

export type Claims = Record<string, unknown> | undefined;

/** The `email_verified` claim: absent, verified, refused (`false`, or `"false"` as API Gateway flattens it), odd. */
export const emailVerifiedClaim: fc.Arbitrary<unknown> = fc.constantFrom(
  undefined,
  true,
  'true',
  false,
  'false',
  0,
  'False',
  null,
);

/** The claims of a member's access token, as the identity provider signed them (arrays are arrays). */
export const claims: fc.Arbitrary<Claims> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.constantFrom<Claims>(
      { email: EMAILS.alice, groups: [] },
      { email: EMAILS.bob, groups: [] },
      { email: EMAILS.admin, groups: [ADMIN_GROUP] },
    ),
  },
  {
    weight: 4,
    arbitrary: fc.record(
      { email: emailClaim, groups: groupsClaim, email_verified: emailVerifiedClaim },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.constant(undefined) },
  { weight: 1, arbitrary: fc.dictionary(weirdString(10), fc.jsonValue({ maxDepth: 1 }), { maxKeys: 4 }) },
);

/** The claims as a signed token can carry them: what survives JSON and UTF-8 (a lone surrogate becomes U+FFFD). */
export function signedClaims(c: Record<string, unknown>): Record<string, unknown> {
  return JSON.parse(Buffer.from(JSON.stringify(c), 'utf8').toString('utf8')) as Record<string, unknown>;
}

/** The claims the handler is given for `spec`, as the token carried them (undefined without an authorizer). */
export function callerClaims(spec: FuzzEvent): Claims {
  if (!spec.withAuthorizer || spec.claims === undefined) return undefined;
  return spec.withAuthorizer === 'claims-only' ? spec.claims : signedClaims(spec.claims);
}

/**
 * Whether the contract makes this caller an admin: a group named exactly `token-warden-admins`, from the verified
 * token (one name, or one element of the array); or an element of a groups array the authorizer hands over as such.
 * A flattened `"[a b]"` string without the token never does: it cannot tell `["a b"]` from `["a", "b"]`.
 */
export function isAdminCaller(spec: FuzzEvent): boolean {
  const c = callerClaims(spec);
  if (!c) return false;
  const groups = c.groups;
  if (Array.isArray(groups)) return groups.includes(ADMIN_GROUP);
  return spec.withAuthorizer === true && groups === ADMIN_GROUP;
}

/** Whether the token says its email is not verified (`false`, or the string `"false"` API Gateway hands over). */
export function emailUnverified(c: Claims): boolean {
  return c?.email_verified === false || c?.email_verified === 'false';
}

/** The caller's email as the contract defines it (a string claim holding one address), lower-cased; else undefined. */
export function validEmailOf(c: Claims): string | undefined {
  const email = c?.email;
  if (typeof email !== 'string' || email.length > 254 || !/^[^\s@]+@[^\s@]+$/.test(email)) return undefined;
  return email.toLowerCase();
}

export const idempotencyKey: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.string({ unit: 'grapheme-ascii', minLength: 1, maxLength: 128 }) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('', ' ', 'has space', 'k'.repeat(129), 'k'.repeat(128), 'key\u0000', 'clé', '\ud800'),
  },
  { weight: 1, arbitrary: weirdString(60) },
);

export const limitParam: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(undefined, '1', '50', '100') },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      '0',
      '101',
      '-1',
      '1e2',
      ' 5',
      '5 ',
      '05',
      '0005',
      '5.0',
      '0x10',
      'NaN',
      'Infinity',
      '',
      '１０',
      '١٠',
      '9'.repeat(400),
    ),
  },
  { weight: 1, arbitrary: weirdString(12) },
);

const b64url = (text: string) => Buffer.from(text, 'utf8').toString('base64url');

/** `nextToken`s that are junk, or junk shaped like base64url / base64url JSON (not a key of any partition). */
export const nextTokenParam: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 2, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: weirdString(40) },
  { weight: 2, arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{1,80}$/) },
  { weight: 2, arbitrary: fc.jsonValue({ maxDepth: 2 }).map((v) => b64url(JSON.stringify(v))) },
  { weight: 1, arbitrary: fc.constantFrom('', 'A'.repeat(2049), b64url('{"__proto__":{"polluted":true}}')) },
);

/**
 * `nextToken`s forged from a partition key (the caller's own or another's), so they pass or fail a "same partition"
 * check, with arbitrary other attributes: what DynamoDB gets as `ExclusiveStartKey` if the check lets them through.
 */
export function forgedNextToken(partitions: { attr: string; value: string }[]): fc.Arbitrary<string> {
  return fc
    .record({
      partition: fc.constantFrom(...partitions),
      extra: fc.dictionary(
        fc.oneof(
          fc.constantFrom('pk', 'sk', 'gsi1sk', 'kindSk', 'gsi1pk', 'kind', 'duePk', 'dueSk', '__proto__'),
          weirdString(8),
        ),
        fc.oneof(weirdString(30), fc.constantFrom('REQ', 'TOK', 'REQ#x', '', 'x'.repeat(512))),
        { maxKeys: 4 },
      ),
    })
    .map(({ partition, extra }) => b64url(JSON.stringify({ ...extra, [partition.attr]: partition.value })));
}

// ---------------------------------------------------------------- events

export interface FuzzEvent {
  routeKey: string;
  /** The claims of the caller's token, as signed (see {@link claims}). */
  claims?: Claims;
  /**
   * `true`: as API Gateway builds the event, the claims flattened (every value a string, arrays as `[a b]`) and the
   * token in `authorization`; `'claims-only'`: the claims as they are, and no token (a handler that cannot read
   * it); `false`: no `authorizer` at all (the open routes).
   */
  withAuthorizer: boolean | 'claims-only';
  pathParameters?: Record<string, string | undefined>;
  query?: Record<string, string | undefined>;
  headers?: Record<string, string | undefined>;
  body?: string | undefined;
  encoding?: BodyEncoding;
}

/** A payload-format-2.0 event as API Gateway would build it from these (possibly hostile) pieces. */
export function fuzzEvent(spec: FuzzEvent): ApiEvent {
  const clean = (o: Record<string, string | undefined> | undefined) =>
    o === undefined
      ? undefined
      : (Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Record<string, string>);
  const event = apiEvent({ routeKey: spec.routeKey });
  const headers = clean(spec.headers) ?? {};
  event.headers = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  const query = clean(spec.query);
  if (query && Object.keys(query).length > 0) {
    event.queryStringParameters = query;
    event.rawQueryString = new URLSearchParams(query).toString();
  }
  const params = clean(spec.pathParameters);
  if (params) event.pathParameters = params;
  if (spec.withAuthorizer === 'claims-only' && spec.claims !== undefined) {
    event.requestContext.authorizer = { jwt: { claims: spec.claims, scopes: null } };
  } else if (spec.withAuthorizer && spec.claims !== undefined) {
    const signed = signedClaims(spec.claims);
    event.requestContext.authorizer = { jwt: { claims: stringifyClaims(signed), scopes: null } };
    // The authorizer's identity source: the token it verified is the one the handler sees.
    event.headers.authorization = `Bearer ${bearerToken(signed)}`;
  }
  if (spec.body !== undefined) {
    const encoding = spec.encoding ?? 'text';
    if (encoding === 'base64') {
      event.body = Buffer.from(spec.body, 'utf8').toString('base64');
      event.isBase64Encoded = true;
    } else if (encoding === 'base64-flag-on-text') {
      event.body = spec.body;
      event.isBase64Encoded = true;
    } else if (encoding === 'base64-text-flag-off') {
      event.body = Buffer.from(spec.body, 'utf8').toString('base64');
      event.isBase64Encoded = false;
    } else {
      event.body = spec.body;
      event.isBase64Encoded = false;
    }
  }
  return event;
}

/** The bytes the handler will actually see (to know whether the contract says 413). */
export function bodyBytes(event: ApiEvent): number {
  if (event.body === undefined) return 0;
  return event.isBase64Encoded ? Buffer.from(event.body, 'base64').length : Buffer.byteLength(event.body, 'utf8');
}

// ---------------------------------------------------------------- response checks

/** Text that betrays internals: stack frames, source paths, module paths. */
export function leaksInternals(body: string, secrets: string[]): string | undefined {
  if (/^\s*at .+:\d+:\d+\)?\s*$/m.test(body)) return 'a stack frame';
  if (/\bat (?:async )?[\w.<>$]+ \(/.test(body)) return 'a stack frame';
  if (body.includes(process.cwd())) return 'the source path';
  if (/node_modules|\.tsx?:\d+|\/var\/task\//.test(body)) return 'a module path';
  if (/(?:Syntax|Type|Reference|Range)Error: /.test(body)) return 'a raw JavaScript error';
  for (const secret of secrets) if (secret.length >= 8 && body.includes(secret)) return 'a secret value';
  return undefined;
}

export interface Problem {
  problem: string;
}

/** Checks a JSON route's answer against the contract; returns what is wrong, or undefined. */
export function checkJsonAnswer(result: ApiResult, allowedFields: Set<string>): string | undefined {
  if (!Number.isInteger(result.statusCode)) return `status ${String(result.statusCode)} is not an integer`;
  if (result.statusCode >= 500) return `status ${result.statusCode}`;
  const type = String(result.headers?.['content-type'] ?? '');
  if (!type.startsWith('application/json')) return `content-type ${type}`;
  let body: unknown;
  try {
    body = JSON.parse(result.body);
  } catch {
    return 'body is not JSON';
  }
  if (result.statusCode < 400) return undefined;
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'error body is not an object';
  const keys = Object.keys(body);
  if (keys.length !== 1 || keys[0] !== 'error') return `error body has keys ${JSON.stringify(keys)}`;
  const error = (body as { error: unknown }).error;
  if (typeof error !== 'object' || error === null || Array.isArray(error)) return 'error is not an object';
  const e = error as Record<string, unknown>;
  const extra = Object.keys(e).filter((k) => k !== 'code' && k !== 'message' && k !== 'field');
  if (extra.length > 0) return `error has extra keys ${JSON.stringify(extra)}`;
  if (typeof e.code !== 'string' || !(e.code in CONTRACT_ERRORS))
    return `code ${JSON.stringify(e.code)} not in contract`;
  if (CONTRACT_ERRORS[e.code] !== result.statusCode) return `code ${e.code} with status ${result.statusCode}`;
  if (typeof e.message !== 'string' || e.message.length === 0) return 'message is not a non-empty string';
  if ('field' in e) {
    if (typeof e.field !== 'string') return 'field is not a string';
    if (!allowedFields.has(e.field)) return `field ${JSON.stringify(e.field)} is not a property, header or parameter`;
  }
  return undefined;
}

/** Checks an approval route's answer: HTML, the two privacy headers, and a 4xx. */
export function checkHtmlAnswer(result: ApiResult): string | undefined {
  if (!Number.isInteger(result.statusCode)) return `status ${String(result.statusCode)} is not an integer`;
  if (result.statusCode < 400 || result.statusCode >= 500) return `status ${result.statusCode}`;
  const h = result.headers ?? {};
  if (!String(h['content-type'] ?? '').startsWith('text/html')) return `content-type ${String(h['content-type'])}`;
  if (h['referrer-policy'] !== 'no-referrer') return 'no Referrer-Policy: no-referrer';
  if (h['cache-control'] !== 'no-store') return 'no Cache-Control: no-store';
  if (!/^<!doctype html>/i.test(result.body)) return 'body is not an HTML page';
  if (/<form\b/i.test(result.body)) return 'a refused link still shows the decision form';
  return undefined;
}

/** The top-level keys of a JSON object body, if the body is one (for the `field` check). */
export function topLevelKeys(text: string | undefined): string[] {
  if (text === undefined) return [];
  try {
    const value = JSON.parse(text);
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? Object.keys(value) : [];
  } catch {
    return [];
  }
}

/** Per-route tallies printed at the end of the suite. */
export class Tally {
  private readonly rows = new Map<string, { inputs: number; fiveXX: number; statuses: Map<number, number> }>();

  add(route: string, status: number): void {
    const row = this.rows.get(route) ?? { inputs: 0, fiveXX: 0, statuses: new Map() };
    row.inputs++;
    if (status >= 500) row.fiveXX++;
    row.statuses.set(status, (row.statuses.get(status) ?? 0) + 1);
    this.rows.set(route, row);
  }

  get total(): { inputs: number; fiveXX: number } {
    let inputs = 0;
    let fiveXX = 0;
    for (const row of this.rows.values()) {
      inputs += row.inputs;
      fiveXX += row.fiveXX;
    }
    return { inputs, fiveXX };
  }

  lines(): string[] {
    return [...this.rows].map(([route, row]) => {
      const statuses = [...row.statuses]
        .sort(([a], [b]) => a - b)
        .map(([s, n]) => `${s}×${n}`)
        .join(' ');
      return `  ${route}: ${row.inputs} inputs, ${row.fiveXX} 5xx (${statuses})`;
    });
  }
}
