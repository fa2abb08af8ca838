/**
 * Malformed Atlassian answers to the mint step (`mintToken`, functions/use-cases/issuance.ts).
 *
 * A scripted proxy stands in front of the fake Atlassian (harness: dynalite, Secrets Manager emulator, fake Atlassian
 * over HTTP). For the scripted call it (usually) lets the real mint happen at the fake — so a token exists — and then
 * answers the client with something malformed: fields missing or of the wrong type, an HTML page with 200, truncated
 * JSON, a 200 that never finishes, a 5xx. Properties:
 * - the step fails with a named error (`AtlassianMalformedResponseError` / `AtlassianTransientError`);
 * - no secret version is stored and no mint is recorded;
 * - the error (message, stack, causes) carries no part of the token value;
 * - a retry of the step against the real fake Atlassian reconciles by label: exactly one ACTIVE token for the label
 *   afterwards (`GET /__control/tokens`), and the staged secret value is that token (it passes `/myself`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { DescribeSecretCommand, GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { mockClient } from 'aws-sdk-client-mock';
import fc from 'fast-check';
import { AtlassianClient } from '../../../functions/adapters/atlassian/client';
import { mintLabel, secretNameFor, secretVersionId, tokenIdFor } from '../../../functions/domain/naming';
import { type IssuanceDeps, mintToken } from '../../../functions/use-cases/issuance';
import { type Harness, ORG_KEY, startHarness } from '../../support/harness';
import { listenOn, type Running, readAll } from '../support/atlassian-servers';

const ses = mockClient(SESv2Client);
const RUNS = Number(process.env.TW_FUZZ_RUNS ?? 250);
/** Each run mints twice and may wait out a timeout: fewer runs than the pure suites. */
const MINT_RUNS = Math.max(20, Math.round(RUNS / 4));
const CLIENT_TIMEOUT_MS = 300;

let h: Harness;
let proxy: Running;
let proxied: IssuanceDeps;
const hung: ServerResponse[] = [];
const stats = { inputs: 0, malformed: 0, transient: 0, other: 0, reconciled: 0, byKind: new Map<string, number>() };

/** What the real fake answered to the mint the proxy forwarded. */
interface Real {
  status: number;
  text: string;
  id: string;
  token: string;
}

/** A scripted answer to one mint (or list) call. */
interface Answer {
  kind: string;
  /** Let the call reach the fake first (the token then exists at Atlassian). */
  forward: boolean;
  /** `headers`: never answer; `body`: send headers and part of the body, then stall. */
  hang?: 'headers' | 'body';
  status: number;
  headers?: Record<string, string>;
  body: (real: Real) => string;
  /** Error names the step may fail with. */
  names: string[];
}

let script: { route: 'mint' | 'list'; answer: Answer } | undefined;
const seenTokens: string[] = [];

async function forward(
  req: IncomingMessage,
  body: string,
): Promise<{ status: number; text: string; headers: Headers }> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (typeof value === 'string' && !['host', 'connection', 'content-length'].includes(name)) headers[name] = value;
  }
  const init: RequestInit = { method: req.method ?? 'GET', headers };
  if (body !== '') init.body = body;
  const res = await fetch(`${h.fakeUrl}${req.url ?? '/'}`, init);
  return { status: res.status, text: await res.text(), headers: res.headers };
}

async function proxyHandler(req: IncomingMessage, res: ServerResponse): Promise<void> {
  const body = await readAll(req);
  const path = new URL(req.url ?? '/', 'http://x').pathname;
  const tokensRoute = /^\/users\/[^/]+\/manage\/api-tokens$/.test(path);
  const route = tokensRoute && req.method === 'POST' ? 'mint' : tokensRoute && req.method === 'GET' ? 'list' : 'other';
  const scripted = script && script.route === route ? script.answer : undefined;
  if (scripted) script = undefined;
  if (!scripted) {
    const answer = await forward(req, body);
    if (route === 'mint') {
      const token = (JSON.parse(answer.text) as { token?: string }).token;
      if (token) seenTokens.push(token);
    }
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(answer.text);
    return;
  }
  let real: Real = { status: 0, text: '', id: 'none', token: 'none' };
  if (scripted.forward) {
    const answer = await forward(req, body);
    const parsed = JSON.parse(answer.text) as { id?: string; token?: string };
    real = { status: answer.status, text: answer.text, id: parsed.id ?? '', token: parsed.token ?? '' };
    if (real.token) seenTokens.push(real.token);
  }
  if (scripted.hang === 'headers') {
    hung.push(res);
    return;
  }
  res.writeHead(scripted.status, scripted.headers ?? { 'content-type': 'application/json' });
  if (scripted.hang === 'body') {
    res.write(scripted.body(real));
    hung.push(res);
    return;
  }
  res.end(scripted.body(real));
}

beforeAll(async () => {
  h = await startHarness();
  proxy = await listenOn((req, res) => {
    void proxyHandler(req, res).catch((error) => {
      res.writeHead(599);
      res.end(String(error));
    });
  });
  proxied = {
    ...h.deps,
    atlassian: new AtlassianClient({
      apiBaseUrl: proxy.url,
      siteBaseUrl: proxy.url,
      orgApiKey: async () => ORG_KEY,
      timeoutMs: CLIENT_TIMEOUT_MS,
      sleep: async () => {},
    }),
  };
}, 60_000);

afterAll(async () => {
  const kinds = [...stats.byKind]
    .sort()
    .map(([k, n]) => `${k}×${n}`)
    .join(' ');
  console.log(
    `atlassian-responses: ${stats.inputs} malformed answers, ${stats.malformed} AtlassianMalformedResponseError, ` +
      `${stats.transient} AtlassianTransientError, ${stats.other} other, ${stats.reconciled} retries reconciled ` +
      `to exactly one ACTIVE token\n  ${kinds}`,
  );
  for (const res of hung) res.destroy();
  await proxy.close();
  await h.close();
});

beforeEach(() => {
  ses.reset();
  ses.on(SendEmailCommand).resolves({ MessageId: 'm' });
});

// ---------------------------------------------------------------- the malformed answers

const MALFORMED = 'AtlassianMalformedResponseError';
const TRANSIENT = 'AtlassianTransientError';
const json = (v: unknown) => JSON.stringify(v);
const ok = (kind: string, body: (r: Real) => string, extra: Partial<Answer> = {}): Answer => ({
  kind,
  forward: true,
  status: 200,
  body,
  names: [MALFORMED],
  ...extra,
});

const WRONG_TYPES: unknown[] = [12345, 0, null, true, [], {}, [''], { value: 'x' }, 1.5];

/** Every kind of malformed answer once, with fixed parameters: run first, as the property's explicit examples. */
const EVERY_MINT_ANSWER: Answer[] = [
  ok('missing token', (r) => json({ id: r.id, label: 'x' })),
  ok('missing id', (r) => json({ token: r.token })),
  ok('id of a wrong type', (r) => json({ id: 12345, token: r.token })),
  ok('token of a wrong type', (r) => json({ id: r.id, token: null })),
  ok('token nested in an object', (r) => json({ id: r.id, token: { value: r.token } })),
  ok('token in an array', (r) => json({ id: r.id, token: [r.token] })),
  ok('empty strings', () => json({ id: '', token: '' })),
  ok('duplicate key, last empty', (r) => `{"id":${json(r.id)},"token":${json(r.token)},"token":""}`),
  ok('wrapped in data', (r) => json({ data: JSON.parse(r.text) })),
  ok('an array', (r) => json([JSON.parse(r.text)])),
  ok('a bare string', (r) => json(r.token)),
  ok('null', () => 'null'),
  ok('empty body', () => ''),
  ok('204 without body', () => '', { status: 204 }),
  ok(
    'HTML error page with 200',
    (r) => `<!doctype html><html><body><h1>Something went wrong</h1><pre>${r.token}</pre></body></html>`,
    { headers: { 'content-type': 'text/html' } },
  ),
  ok('non-UTF-8 bytes', () => '\udc80\ud800\u0000\u00ff'),
  ok('truncated JSON', (r) => r.text.slice(0, Math.floor(r.text.length / 2))),
  ok('2 MB of junk', () => `{"id":"${'x'.repeat(2_000_000)}`),
  {
    kind: '200 that never finishes',
    forward: true,
    hang: 'body',
    status: 200,
    body: (r) => r.text.slice(0, 40),
    names: [TRANSIENT],
  },
  { kind: 'no answer at all', forward: true, hang: 'headers', status: 200, body: () => '', names: [TRANSIENT] },
  serverError(500),
  serverError(503),
  {
    kind: '302 after creating',
    forward: true,
    status: 302,
    headers: { location: 'https://elsewhere.invalid/', 'content-type': 'text/html' },
    body: (r) => `<a href="https://elsewhere.invalid/?t=${r.token}">moved</a>`,
    names: ['AtlassianRequestError'],
  },
];

/** A 5xx after the fake really minted, whose body echoes the token everywhere an error body has text. */
function serverError(status: number): Answer {
  return {
    kind: `${status} after creating, echoing the token`,
    forward: true,
    status,
    headers: { 'content-type': 'application/json', 'retry-after': '1' },
    body: (r) =>
      json({
        key: r.token,
        message: `created ${r.token}`,
        context: { fieldViolations: [{ field: r.token, violations: [{ key: r.token }] }] },
        errors: [{ code: r.token }],
      }),
    names: [TRANSIENT],
  };
}

/** Malformed answers to a mint that really happened at the fake (so reconciliation has an orphan to find). */
const mintAnswer: fc.Arbitrary<Answer> = fc.oneof(
  { weight: 3, arbitrary: fc.constantFrom(...EVERY_MINT_ANSWER) },
  fc.constantFrom(...WRONG_TYPES).map((v) => ok('id of a wrong type', (r) => json({ id: v, token: r.token }))),
  fc.constantFrom(...WRONG_TYPES).map((v) => ok('token of a wrong type', (r) => json({ id: r.id, token: v }))),
  fc
    .double({ min: 0.01, max: 0.99, noNaN: true })
    .map((f) => ok('truncated JSON', (r) => r.text.slice(0, Math.max(1, Math.floor(r.text.length * f))))),
  fc.constantFrom(500, 502, 503, 504).map(serverError),
  fc
    .string({ unit: 'binary', maxLength: 200 })
    .filter((junk) => {
      try {
        const v = JSON.parse(junk) as { id?: unknown; token?: unknown };
        return !(typeof v?.id === 'string' && typeof v?.token === 'string');
      } catch {
        return true;
      }
    })
    .map((junk) => ok('random junk with 200', () => junk)),
);

/** Malformed answers to the reconciliation's list call: the step must stop before minting anything. */
const EVERY_LIST_ANSWER: Answer[] = [
  ok('list: HTML with 200', () => '<html>maintenance</html>', { forward: false }),
  ok('list: an object instead of an array', () => json({ tokens: [] }), { forward: false }),
  ok('list: entries without id', () => json([{ label: 'x', createdAt: 'now' }]), { forward: false }),
  ok('list: truncated', () => '[{"id":"a","label":', { forward: false }),
  ok('list: ids of a wrong type', () => json([{ id: 1, label: 'x', createdAt: 'now' }]), { forward: false }),
];

// ---------------------------------------------------------------- checks

interface ControlToken {
  id: string;
  label: string;
  status: string;
}

async function controlTokens(): Promise<ControlToken[]> {
  const res = await fetch(`${h.fakeUrl}/__control/tokens`);
  return (await res.json()) as ControlToken[];
}

/** Every text an error exposes: message, stack, name, own fields, and the same for each cause. */
function errorTexts(error: unknown, depth = 0): string {
  if (depth > 5 || error === null || error === undefined) return '';
  if (!(error instanceof Error)) return String(error);
  const own = Object.fromEntries(Object.entries(error).filter(([k]) => k !== 'cause'));
  return [
    error.name,
    error.message,
    error.stack ?? '',
    JSON.stringify(own),
    errorTexts((error as { cause?: unknown }).cause, depth + 1),
  ].join('\n');
}

/** Whether `text` holds any 12-character window of any token value the fake ever handed out. */
function containsToken(text: string): string | undefined {
  for (const token of seenTokens) {
    for (let i = 0; i + 12 <= token.length; i += 4) {
      if (text.includes(token.slice(i, i + 12))) return token.slice(i, i + 12);
    }
  }
  return undefined;
}

async function storedVersions(secretName: string): Promise<Record<string, string[]>> {
  try {
    const out = await h.sm.send(new DescribeSecretCommand({ SecretId: secretName }));
    return out.VersionIdsToStages ?? {};
  } catch (error) {
    if (error instanceof Error && error.name === 'ResourceNotFoundException') return {};
    throw error;
  }
}

async function runMalformed(route: 'mint' | 'list', answer: Answer): Promise<void> {
  stats.inputs++;
  stats.byKind.set(answer.kind, (stats.byKind.get(answer.kind) ?? 0) + 1);
  const request = await h.approvedRequest();
  const tokenId = tokenIdFor(request.requestId);
  const label = mintLabel(tokenId, 1);
  const secretName = secretNameFor(request.serviceAccount, request.name);
  const before = (await controlTokens()).filter((t) => t.label === label);

  script = { route, answer };
  let failure: unknown;
  try {
    await mintToken(proxied, { requestId: request.requestId });
  } catch (error) {
    failure = error;
  }
  script = undefined;
  const name = failure instanceof Error ? failure.name : String(failure);
  if (name === MALFORMED) stats.malformed++;
  else if (name === TRANSIENT) stats.transient++;
  else stats.other++;

  // A named error, and only the ones this answer may produce.
  if (failure === undefined) throw new Error(`${answer.kind}: the step succeeded`);
  if (!answer.names.includes(name)) {
    throw new Error(`${answer.kind}: failed with ${name} (${(failure as Error).message}), wanted ${answer.names}`);
  }
  // No part of any token value in the error.
  const leaked = containsToken(errorTexts(failure));
  if (leaked) throw new Error(`${answer.kind}: the error carries token text ${leaked}`);
  // Nothing stored: no secret version, no mint record.
  const versions = await storedVersions(secretName);
  if (Object.keys(versions).length > 0) {
    throw new Error(`${answer.kind}: secret versions stored: ${JSON.stringify(versions)}`);
  }
  if (await h.deps.store.getMint(tokenId, 1)) throw new Error(`${answer.kind}: a mint was recorded`);
  if (route === 'list') {
    const minted = (await controlTokens()).filter((t) => t.label === label);
    if (minted.length !== before.length) throw new Error(`${answer.kind}: minted although the list was malformed`);
  }

  // The retry, against the real fake, reconciles by label.
  const retried = await mintToken(h.deps, { requestId: request.requestId });
  const active = (await controlTokens()).filter((t) => t.label === label && t.status === 'ACTIVE');
  if (active.length !== 1) {
    throw new Error(`${answer.kind}: ${active.length} ACTIVE tokens for ${label} after the retry`);
  }
  const mint = await h.deps.store.getMint(tokenId, 1);
  if (mint?.state !== 'STAGED' || mint.atlassianTokenId !== active[0]!.id) {
    throw new Error(`${answer.kind}: the recorded mint is not the live token: ${JSON.stringify(mint)}`);
  }
  const staged = await h.sm.send(
    new GetSecretValueCommand({ SecretId: secretName, VersionId: secretVersionId(tokenId, 1) }),
  );
  if (retried.versionId !== secretVersionId(tokenId, 1) || !staged.VersionStages?.includes('AWSPENDING')) {
    throw new Error(`${answer.kind}: the retry did not stage the new token as AWSPENDING`);
  }
  const status = await h.myself(staged.SecretString ?? '');
  if (status !== 200) throw new Error(`${answer.kind}: the staged token answers ${status} on /myself`);
  stats.reconciled++;
}

describe('the mint step against malformed Atlassian answers', () => {
  it('fails named, stores nothing, leaks nothing, and a retry reconciles to exactly one live token', async () => {
    await fc.assert(
      fc.asyncProperty(mintAnswer, (answer) => runMalformed('mint', answer)),
      { numRuns: MINT_RUNS, examples: EVERY_MINT_ANSWER.map((answer) => [answer] as [Answer]) },
    );
  }, 120_000);

  it('a malformed list answer during reconciliation stops the step before it mints', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...EVERY_LIST_ANSWER), (answer) => runMalformed('list', answer)),
      {
        numRuns: Math.max(10, Math.round(MINT_RUNS / 3)),
        examples: EVERY_LIST_ANSWER.map((answer) => [answer] as [Answer]),
      },
    );
  }, 120_000);

  it('a 500 after the fake really minted (fault injection) fails transient; the retry leaves one live token', async () => {
    for (let i = 0; i < 3; i++) {
      stats.inputs++;
      stats.byKind.set('fault: 500 after processing', (stats.byKind.get('fault: 500 after processing') ?? 0) + 1);
      const request = await h.approvedRequest();
      const tokenId = tokenIdFor(request.requestId);
      const label = mintLabel(tokenId, 1);
      await h.control('/__control/faults', { route: 'mint', status: 500, count: 1 });
      const failure = await mintToken(h.deps, { requestId: request.requestId }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).toMatchObject({ name: TRANSIENT });
      stats.transient++;
      // The fake processed the mint: an orphan with our label exists, and nothing was stored for it.
      expect((await controlTokens()).filter((t) => t.label === label && t.status === 'ACTIVE')).toHaveLength(1);
      expect(await storedVersions(secretNameFor(request.serviceAccount, request.name))).toEqual({});
      await mintToken(h.deps, { requestId: request.requestId });
      const tokens = (await controlTokens()).filter((t) => t.label === label);
      expect(tokens.map((t) => t.status).sort()).toEqual(['ACTIVE', 'REVOKED']);
      stats.reconciled++;
    }
  }, 60_000);
});
