/**
 * Helpers over the e2e harness (`test/e2e/support/runtime.ts`): the bench drives the same local runtime, started
 * the same way (child process, free ports, temp data dir). Reads that poll for progress go straight to the local
 * AWS endpoint (DynamoDB GetItem, Secrets Manager DescribeSecret) rather than through the HTTP API, so polling does
 * not queue behind the function sandboxes it is timing.
 */
import { request } from 'node:http';
import { DescribeTableCommand, DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand } from '@aws-sdk/lib-dynamodb';
import type { CallRecord } from '../../local/aws/protocol';
import { csrfOf, type LocalRuntime, requestBody, SEED, waitFor } from '../../local/driver';
import { sleep } from './stats';

export interface AwsClients {
  ddb: DynamoDBClient;
  doc: DynamoDBDocumentClient;
  sm: SecretsManagerClient;
  sfn: SFNClient;
  recordsTable: string;
  auditTable: string;
  destroy(): void;
}

/** One entry of `GET /local/calls`: an AWS or Atlassian call, or a Lambda invocation (with its memory). */
export type CallEntry = CallRecord & { memoryMb?: number };

export function clientConfig(rt: LocalRuntime) {
  return {
    endpoint: rt.urls.aws,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  };
}

/** SDK clients on the runtime's AWS endpoint, and the physical names of its two tables. */
export async function awsClients(rt: LocalRuntime): Promise<AwsClients> {
  const config = clientConfig(rt);
  const ddb = new DynamoDBClient(config);
  const doc = DynamoDBDocumentClient.from(ddb, { marshallOptions: { removeUndefinedValues: true } });
  const sm = new SecretsManagerClient(config);
  const sfn = new SFNClient(config);
  let recordsTable = '';
  let auditTable = '';
  for (const name of (await ddb.send(new ListTablesCommand({}))).TableNames ?? []) {
    const table = (await ddb.send(new DescribeTableCommand({ TableName: name }))).Table;
    const hash = table?.KeySchema?.find((k) => k.KeyType === 'HASH')?.AttributeName;
    if (hash === 'pk') recordsTable = name;
    if (hash === 'correlationId') auditTable = name;
  }
  if (!recordsTable || !auditTable) throw new Error('the runtime has no records/audit tables');
  return {
    ddb,
    doc,
    sm,
    sfn,
    recordsTable,
    auditTable,
    destroy: () => {
      ddb.destroy();
      sm.destroy();
      sfn.destroy();
    },
  };
}

/** The whole call log. */
export async function callLog(rt: LocalRuntime): Promise<CallEntry[]> {
  return (await getJson<{ calls: CallEntry[] }>(`${rt.urls.api}/local/calls`)).calls;
}

/**
 * One HTTP exchange on a fresh connection (no keep-alive). A pooled socket that the server closes just as a request
 * goes out fails that request; the runtime's event loop is busy enough under load for that to happen, and a clock
 * advance cannot be retried blindly.
 */
export function httpJson(
  method: 'GET' | 'POST',
  url: string,
  body?: unknown,
): Promise<{ status: number; json: unknown }> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  const target = new URL(url);
  const headers: Record<string, string | number> = { connection: 'close' };
  if (payload !== undefined) {
    headers['content-type'] = 'application/json';
    headers['content-length'] = Buffer.byteLength(payload);
  }
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: `${target.pathname}${target.search}`,
        method,
        agent: false,
        headers,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch {
            json = text;
          }
          resolve({ status: res.statusCode ?? 0, json });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export const postJson = (url: string, body: unknown) => httpJson('POST', url, body);

/** GET of a JSON document (throws on a non-200 answer). */
export async function getJson<T>(url: string): Promise<T> {
  const answer = await httpJson('GET', url);
  if (answer.status !== 200) throw new Error(`GET ${url} answered ${answer.status}`);
  return answer.json as T;
}

/** Moves the simulated clock (`POST /local/clock/advance`); resolves with the runtime's answer. */
export async function advanceClock(
  rt: LocalRuntime,
  by: { days: number } | { hours: number } | { seconds: number },
): Promise<{ now: string; settled: boolean }> {
  const answer = await postJson(`${rt.urls.api}/local/clock/advance`, by);
  if (answer.status !== 200)
    throw new Error(`POST /local/clock/advance answered ${answer.status}: ${JSON.stringify(answer.json)}`);
  return answer.json as { now: string; settled: boolean };
}

/** The simulated clock's now. */
export async function clockNow(rt: LocalRuntime): Promise<Date> {
  return new Date((await getJson<{ now: string }>(`${rt.urls.api}/local/clock`)).now);
}

/** Sets the fake Atlassian's global rate limit (0 = off). */
export async function setRateLimit(rt: LocalRuntime, perSecond: number): Promise<void> {
  const res = await postJson(`${rt.urls.atlassian}/__control/rate-limit`, { perSecond });
  if (res.status >= 300) throw new Error(`POST /__control/rate-limit answered ${res.status}`);
}

/** The records-table item `pk`/`sk` (consistent read), or undefined. */
export async function getItem(c: AwsClients, pk: string, sk: string): Promise<Record<string, unknown> | undefined> {
  const out = await c.doc.send(new GetCommand({ TableName: c.recordsTable, Key: { pk, sk }, ConsistentRead: true }));
  return out.Item;
}

/** Polls `probe` every `intervalMs` until it returns true; resolves with the wall time it became true. */
export async function pollUntil(
  probe: () => Promise<boolean>,
  timeoutMs: number,
  what: string,
  intervalMs = 5,
): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await probe()) return performance.now();
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(intervalMs);
  }
}

export interface SubmittedRequest {
  requestId: string;
  /** The approval link of approver1, and its page's csrf value (the page was opened). */
  link: string;
  csrf: string;
}

/** A member submits a request and the approver opens the emailed link (GET shows the page; nothing decided yet). */
export async function submitAndOpen(
  rt: LocalRuntime,
  memberToken: string,
  name: string,
  extra: Record<string, unknown> = {},
): Promise<SubmittedRequest> {
  const created = await rt.api('POST', '/token-requests', { token: memberToken, body: requestBody(name, extra) });
  if (created.status !== 202) throw new Error(`POST /token-requests answered ${created.status}: ${created.text}`);
  const { requestId } = created.json as { requestId: string };
  const links = await rt.waitForApprovalLinks(requestId, 2);
  const mine = links.find((l) => l.to === SEED.approver1) ?? links[0];
  if (!mine) throw new Error(`no approval link for ${requestId}`);
  const page = await rt.openLink(mine.link);
  const csrf = csrfOf(page.text);
  if (page.status !== 200 || !csrf) throw new Error(`the approval page answered ${page.status}`);
  return { requestId, link: mine.link, csrf };
}

/** Approves (POST of the form) and waits until the request is `ISSUED` in the records table. */
export async function approveAndWaitIssued(
  rt: LocalRuntime,
  c: AwsClients,
  req: SubmittedRequest,
  timeoutMs = 60_000,
): Promise<{ postMs: number; issuedMs: number; tokenId: string; secretName: string }> {
  const started = performance.now();
  const answer = await rt.postDecision(req.link, { decision: 'approve', csrf: req.csrf });
  const postMs = performance.now() - started;
  if (answer.status !== 200) throw new Error(`the approval POST answered ${answer.status}`);
  let item: Record<string, unknown> | undefined;
  const at = await pollUntil(
    async () => {
      item = await getItem(c, `REQ#${req.requestId}`, 'REQ');
      if (item?.status === 'FAILED' || item?.status === 'REJECTED')
        throw new Error(`request ${req.requestId} is ${String(item.status)}`);
      return item?.status === 'ISSUED';
    },
    timeoutMs,
    `${req.requestId} to be ISSUED`,
  );
  return { postMs, issuedMs: at - started, tokenId: String(item?.tokenId), secretName: String(item?.secretName) };
}

/** Waits (mail store, not logged as an AWS call) until `count` emails mention `needle`. */
export async function waitForEmails(
  rt: LocalRuntime,
  needle: string,
  count: number,
  timeoutMs = 60_000,
): Promise<void> {
  await waitFor(
    async () => (await rt.emails()).filter((e) => (e.body.text ?? '').includes(needle)).length >= count,
    timeoutMs,
    `${count} email(s) mentioning ${needle}`,
  );
}

export { SEED };
