/**
 * 3. Cost per token-year on AWS. One full lifecycle in the local runtime — a 90-day token requested, approved and
 * issued, a year of rotations by advancing the simulated clock, then revoked — and every AWS, Lambda and Atlassian
 * call it caused, taken from the runtime's call log (`GET /local/calls`), counted per service, and multiplied by
 * the published us-east-1 prices in `bench/prices.json`. Step Functions state transitions come from
 * `GetExecutionHistory` of the lifecycle's executions, through the local AWS endpoint.
 *
 * The daily sweep and inventory run on their schedules during the year; they are a per-deployment cost, not a
 * per-token one. The token is issued 12 simulated hours away from their time of day, so every call inside one of
 * their invocations (by time) is attributed to them and reported apart as the fixed cost.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeSecretCommand } from '@aws-sdk/client-secrets-manager';
import { GetExecutionHistoryCommand, type HistoryEvent } from '@aws-sdk/client-sfn';
import { secretNameFor } from '../../functions/domain/naming';
import type { LocalRuntime } from '../../local/driver';
import {
  type AwsClients,
  advanceClock,
  type CallEntry,
  callLog,
  clockNow,
  getJson,
  SEED,
  submitAndOpen,
} from '../lib/local';
import { type Row, row, type SectionResult } from '../lib/report';
import { round, single, sleep } from '../lib/stats';

interface Price {
  usd: number;
  published: string;
  source: string;
}
export interface PriceFile {
  region: string;
  readOn: string;
  prices: Record<string, Price>;
}

export function loadPrices(): PriceFile {
  return JSON.parse(readFileSync(join(__dirname, '..', 'prices.json'), 'utf8')) as PriceFile;
}

export interface CostOptions {
  rt: LocalRuntime;
  aws: AwsClients;
  log: (line: string) => void;
}

/** API-fronted functions: each invocation is one HTTP API request. */
const API_FUNCTIONS = /^Functions(TokenRequests|Tokens|Admin|Approvals|Health)Function/;
/** Scheduled per-deployment functions (one Scheduler invocation each). */
const FIXED_FUNCTIONS = /^Functions(Sweep|Inventory)Function/;
const DAY_MS = 86_400_000;

async function events(rt: LocalRuntime): Promise<{ detail: Record<string, unknown> }[]> {
  return (await getJson<{ events: { detail: Record<string, unknown> }[] }>(`${rt.urls.api}/local/events`)).events;
}

/** Waits for a lifecycle event on the bus (read from the runtime's event list, which is not an AWS call). */
async function waitForEvent(
  rt: LocalRuntime,
  match: (d: Record<string, unknown>) => boolean,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await events(rt)).some((e) => match(e.detail))) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a lifecycle event');
    await sleep(50);
  }
}

async function history(aws: AwsClients, executionArn: string): Promise<HistoryEvent[]> {
  const out: HistoryEvent[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < 100; page++) {
    const res = await aws.sfn.send(
      new GetExecutionHistoryCommand({ executionArn, maxResults: 1000, nextToken, includeExecutionData: false }),
    );
    out.push(...(res.events ?? []));
    nextToken = res.nextToken;
    if (!nextToken) break;
  }
  return out;
}

/** Billable transitions: every state entered, plus every task attempt beyond the first (retries are billed). */
function transitionsOf(events: HistoryEvent[]): { entered: number; retries: number } {
  const entered = events.filter((e) => e.type?.endsWith('StateEntered')).length;
  const taskEntered = events.filter((e) => e.type === 'TaskStateEntered').length;
  const scheduled = events.filter((e) => e.type === 'TaskScheduled' || e.type === 'LambdaFunctionScheduled').length;
  return { entered, retries: Math.max(0, scheduled - taskEntered) };
}

interface Usage {
  stateTransitions: number;
  lambdaRequests: number;
  lambdaGbSeconds: number;
  dynamoReads: number;
  dynamoWrites: number;
  dynamoRru: number;
  dynamoWru: number;
  secretsManagerApiCalls: number;
  secretMonths: number;
  sesEmails: number;
  schedulerInvocations: number;
  eventBridgeEvents: number;
  apiGatewayRequests: number;
  atlassianCalls: number;
}

const DYNAMO_READS: Record<string, number> = { GetItem: 1, Query: 0.5, Scan: 0.5, BatchGetItem: 1 };
const DYNAMO_WRITES = new Set(['PutItem', 'UpdateItem', 'DeleteItem', 'BatchWriteItem']);

function usageOf(calls: CallEntry[]): Omit<Usage, 'stateTransitions' | 'secretMonths' | 'schedulerInvocations'> {
  const lambda = calls.filter((c) => c.service === 'lambda');
  const ddb = calls.filter((c) => c.service === 'dynamodb');
  const reads = ddb.filter((c) => c.operation in DYNAMO_READS);
  const writes = ddb.filter((c) => DYNAMO_WRITES.has(c.operation));
  return {
    lambdaRequests: lambda.length,
    lambdaGbSeconds: lambda.reduce((s, c) => s + (c.durationMs / 1000) * ((c.memoryMb ?? 128) / 1024), 0),
    dynamoReads: reads.length,
    dynamoWrites: writes.length,
    dynamoRru: reads.reduce((s, c) => s + (DYNAMO_READS[c.operation] ?? 1), 0),
    dynamoWru: writes.length,
    secretsManagerApiCalls: calls.filter((c) => c.service === 'secretsmanager').length,
    sesEmails: calls.filter((c) => c.service === 'ses' && c.operation === 'SendEmail' && c.status < 300).length,
    eventBridgeEvents: calls.filter((c) => c.service === 'events' && c.operation === 'PutEvents' && c.status < 300)
      .length,
    apiGatewayRequests: lambda.filter((c) => API_FUNCTIONS.test(c.operation.replace(/^Invoke /, ''))).length,
    atlassianCalls: calls.filter((c) => c.service === 'atlassian').length,
  };
}

function costLines(u: Usage, p: PriceFile['prices']): { item: string; quantity: number; unit: string; usd: number }[] {
  const price = (key: string) => {
    const v = p[key]?.usd;
    if (v === undefined) throw new Error(`bench/prices.json has no ${key}`);
    return v;
  };
  return [
    {
      item: 'Step Functions state transitions',
      quantity: u.stateTransitions,
      unit: 'transitions',
      usd: u.stateTransitions * price('stepFunctionsStandardPerStateTransition'),
    },
    {
      item: 'Lambda requests',
      quantity: u.lambdaRequests,
      unit: 'requests',
      usd: u.lambdaRequests * price('lambdaPerRequest'),
    },
    {
      item: 'Lambda compute (arm64)',
      quantity: u.lambdaGbSeconds,
      unit: 'GB-s',
      usd: u.lambdaGbSeconds * price('lambdaArmPerGbSecond'),
    },
    {
      item: 'DynamoDB reads',
      quantity: u.dynamoRru,
      unit: 'RRU',
      usd: u.dynamoRru * price('dynamoDbOnDemandPerReadRequestUnit'),
    },
    {
      item: 'DynamoDB writes',
      quantity: u.dynamoWru,
      unit: 'WRU',
      usd: u.dynamoWru * price('dynamoDbOnDemandPerWriteRequestUnit'),
    },
    {
      item: 'Secrets Manager API calls',
      quantity: u.secretsManagerApiCalls,
      unit: 'calls',
      usd: u.secretsManagerApiCalls * price('secretsManagerPerApiCall'),
    },
    { item: 'SES emails', quantity: u.sesEmails, unit: 'emails', usd: u.sesEmails * price('sesPerEmail') },
    {
      item: 'EventBridge Scheduler invocations',
      quantity: u.schedulerInvocations,
      unit: 'invocations',
      usd: u.schedulerInvocations * price('schedulerPerInvocation'),
    },
    {
      item: 'EventBridge custom events',
      quantity: u.eventBridgeEvents,
      unit: 'events',
      usd: u.eventBridgeEvents * price('eventBridgePerCustomEvent'),
    },
    {
      item: 'API Gateway HTTP API requests',
      quantity: u.apiGatewayRequests,
      unit: 'requests',
      usd: u.apiGatewayRequests * price('apiGatewayHttpPerRequest'),
    },
    { item: 'Atlassian API calls (no AWS charge)', quantity: u.atlassianCalls, unit: 'calls', usd: 0 },
    {
      item: 'Secrets Manager storage',
      quantity: u.secretMonths,
      unit: 'secret-months',
      usd: u.secretMonths * price('secretsManagerPerSecretMonth'),
    },
  ];
}

export async function runCost(opts: CostOptions): Promise<SectionResult> {
  const { rt, aws } = opts;
  const prices = loadPrices();
  const alice = await rt.memberToken(SEED.alice);
  const admin = await rt.memberToken(SEED.admin);

  // Let earlier sections' waits (grace periods) run out, then move 12 h away from the daily jobs' time of day.
  await advanceClock(rt, { days: 2 });
  await advanceClock(rt, { hours: 12 });
  const before = (await callLog(rt)).length;

  // --- the lifecycle: request, approve, issued (90 days), a year of rotations, revoke
  const name = `bench-cost-${Date.now().toString(36)}`;
  const req = await submitAndOpen(rt, alice, name, { lifetimeDays: 90 });
  const decided = await rt.postDecision(req.link, { decision: 'approve', csrf: req.csrf });
  if (decided.status !== 200) throw new Error(`the approval POST answered ${decided.status}`);
  await waitForEvent(rt, (d) => d.event === 'ISSUED' && d.requestId === req.requestId);
  const issuedAt = (await clockNow(rt)).getTime();
  let advancedDays = 0;
  let unsettled = 0;
  while (advancedDays < 365) {
    const step = Math.min(30, 365 - advancedDays);
    const r = await advanceClock(rt, { days: step });
    if (!r.settled) unsettled++;
    advancedDays += step;
    opts.log(`  advanced ${advancedDays} days`);
  }
  const tokenId = `tok_${req.requestId.replace(/^req_/, '')}`;
  const revoked = await rt.api('POST', `/tokens/${tokenId}/revoke`, {
    token: admin,
    body: { reason: 'bench: end of the token-year' },
  });
  if (revoked.status !== 200) throw new Error(`revoke answered ${revoked.status}: ${revoked.text}`);
  const revokedAt = (await clockNow(rt)).getTime();
  const window = (await callLog(rt)).slice(before);
  rt.received.length = 0;

  // --- split: calls inside a sweep/inventory invocation are per-deployment, the rest belong to the token
  const fixedInvocations = window.filter(
    (c) => c.service === 'lambda' && FIXED_FUNCTIONS.test(c.operation.replace(/^Invoke /, '')),
  );
  const spans = fixedInvocations.map((c) => {
    const end = Date.parse(c.at);
    return [end - c.durationMs - 50, end + 50] as const;
  });
  const inFixed = (c: CallEntry) => {
    if (c.service === 'lambda') return FIXED_FUNCTIONS.test(c.operation.replace(/^Invoke /, ''));
    const t = Date.parse(c.at);
    return spans.some(([a, b]) => t >= a && t <= b);
  };
  const tokenCalls = window.filter((c) => !inFixed(c));
  const fixedCalls = window.filter(inFixed);

  // --- executions of the lifecycle and their billable transitions
  const executionArns = [
    ...new Set(tokenCalls.map((c) => c.executionId).filter((e): e is string => typeof e === 'string')),
  ];
  let entered = 0;
  let retries = 0;
  const perExecution: Record<string, { entered: number; retries: number; events: number }> = {};
  for (const arn of executionArns) {
    const h = await history(aws, arn);
    const t = transitionsOf(h);
    entered += t.entered;
    retries += t.retries;
    perExecution[arn.split(':').pop() ?? arn] = { ...t, events: h.length };
  }
  const rotations = executionArns.filter((a) => a.includes(':execution:') && /-g\d+-a\d+$/.test(a)).length;

  // --- the secret's stored time, from its own dates
  const secretName = secretNameFor('jenkins-bot', name);
  const described = await aws.sm.send(new DescribeSecretCommand({ SecretId: secretName }));
  // Billed from creation until the revoke schedules its deletion (secrets marked for deletion are not charged).
  const created = described.CreatedDate?.getTime() ?? issuedAt;
  const secretMonths = (revokedAt - created) / (DAY_MS * (365 / 12));

  const tokenUsage: Usage = {
    ...usageOf(tokenCalls),
    stateTransitions: entered + retries,
    secretMonths,
    // In an unattended year every rotation is started by the token's one-time schedule.
    schedulerInvocations: rotations,
  };
  const days = (Date.parse(window[window.length - 1]?.at ?? '') - Date.parse(window[0]?.at ?? '')) / DAY_MS;
  const fixedUsage: Usage = {
    ...usageOf(fixedCalls),
    stateTransitions: 0,
    secretMonths: 0,
    schedulerInvocations: fixedInvocations.length,
  };
  const lines = costLines(tokenUsage, prices.prices);
  const usageUsd = lines.filter((l) => l.item !== 'Secrets Manager storage').reduce((s, l) => s + l.usd, 0);
  const storageUsd = lines.find((l) => l.item === 'Secrets Manager storage')?.usd ?? 0;
  const floorUsd = 12 * (prices.prices.secretsManagerPerSecretMonth?.usd ?? 0.4);
  const fixedPerMonth =
    costLines(fixedUsage, prices.prices)
      .filter((l) => l.item !== 'Secrets Manager storage')
      .reduce((s, l) => s + l.usd, 0) *
    (365 / 12 / Math.max(days, 1));
  // The link-signing key and the org API key are two more secrets per deployment.
  const fixedSecretsPerMonth = 2 * (prices.prices.secretsManagerPerSecretMonth?.usd ?? 0.4);

  const rows: Row[] = lines.map((l) =>
    row(`${l.item} (${round(l.quantity, 3)} ${l.unit})`, single(l.usd, 'USD/token-year')),
  );
  rows.push(row('usage cost per token-year (without storage)', single(usageUsd, 'USD')));
  rows.push(row('total per token-year', single(usageUsd + storageUsd, 'USD')));
  rows.push(row('floor: Secrets Manager storage (12 x $0.40)', single(floorUsd, 'USD')));
  rows.push(row('total / floor', single((usageUsd + storageUsd) / floorUsd, 'x')));
  rows.push(row('fixed per deployment: daily sweep + inventory', single(fixedPerMonth, 'USD/month')));
  rows.push(row('fixed per deployment: 2 system secrets', single(fixedSecretsPerMonth, 'USD/month')));

  return {
    id: 'cost',
    title: 'Cost per token-year on AWS',
    rows,
    notes: [
      `Prices: bench/prices.json (${prices.region}, read ${prices.readOn}); free tiers ignored.`,
      `Lifecycle: 1 token (90-day lifetime, rotation lead 7 days) issued, ${rotations} rotation(s) in ${advancedDays} simulated days, revoked; ${executionArns.length} executions, ${entered} states entered + ${retries} retried task attempts = ${entered + retries} billable transitions.`,
      'DynamoDB: every GetItem is strongly consistent (1 RRU, item <= 4 KB), every Query 0.5 RRU (eventually consistent, one page <= 4 KB), every write 1 WRU (item < 1 KB assumed, as the issue asks). Not counted: the extra WRUs a write costs on each GSI it touches (the records table has 3 with ALL projection, so a token write can cost up to 4x), and item sizes above 1 KB (a token record grows with its generations). Even at 4x, DynamoDB stays under a tenth of a cent per token-year.',
      "Lambda GB-s uses durations measured here (Node 20 worker threads on this machine, incl. the wait for a free sandbox), not Lambda arm64 durations; memory is each function's configured size from the template.",
      `Not measured: KMS requests (the customer managed key decrypts each Secrets Manager and DynamoDB access; $0.03 per 10k requests), CloudWatch Logs ingestion and X-Ray traces, and the key's $1/month. ${unsettled ? `${unsettled} clock advance(s) answered settled=false.` : ''}`.trim(),
    ],
    details: {
      tokenUsage,
      fixed: {
        days: round(days, 2),
        usage: fixedUsage,
        invocations: fixedInvocations.length,
        perMonthUsd: fixedPerMonth,
      },
      lines,
      perExecution,
      callsInWindow: window.length,
      tokenCalls: countBy(tokenCalls),
      fixedCalls: countBy(fixedCalls),
    },
  };
}

function countBy(calls: CallEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) {
    const key =
      c.service === 'lambda'
        ? `lambda ${c.operation.replace(/^Invoke Functions/, '').replace(/Function[0-9A-F]{8}$/, '')}`
        : `${c.service} ${c.operation}`;
    out[key] = (out[key] ?? 0) + 1;
  }
  return out;
}
