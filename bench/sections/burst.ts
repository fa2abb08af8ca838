/**
 * 4. Burst under Atlassian's rate limits: N tokens whose rotations come due at the same instant (seeded by
 * `bench/seed-tokens.ts`, each with its one-time rotation schedule), the fake Atlassian limited to `perSecond`
 * requests per second (429 with Retry-After beyond it). Triggered by advancing the simulated clock past the due
 * instant. Reports the time until every token is promoted to generation 2 (or has failed), failures, orphans after
 * the grace period (every token at the fake must be a current generation or REVOKED), and the achieved Atlassian
 * call rate as a fraction of the allowed rate.
 */
import { existsSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ExecutionListItem, ListExecutionsCommand } from '@aws-sdk/client-sfn';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import { isoSeconds } from '../../functions/domain/ports';
import { JsonLog } from '../../local/aws/json-store';
import type { LocalRuntime } from '../../local/driver';
import type { BundledFunction } from '../lib/assembly';
import {
  type AwsClients,
  advanceClock,
  type CallEntry,
  callLog,
  clockNow,
  getItem,
  getJson,
  SEED,
  setRateLimit,
} from '../lib/local';
import { row, type SectionResult } from '../lib/report';
import { median, round, single, sleep } from '../lib/stats';
import { bundledPolicy, seedTokens } from '../seed-tokens';

export interface BurstOptions {
  rt: LocalRuntime;
  aws: AwsClients;
  functions: BundledFunction[];
  count: number;
  perSecond: number;
  /** Wall-time budget for the rotations to finish. */
  timeoutMs: number;
  /** How often progress is probed. */
  pollMs: number;
  log: (line: string) => void;
}

interface TokenState {
  tokenId: string;
  generation: number;
  status: string;
  lastRotationError?: { code: string };
  rotation?: unknown;
}

/** Every token record (projection of what the burst checks), through the `byKind` index. */
async function tokenStates(aws: AwsClients): Promise<TokenState[]> {
  const out: TokenState[] = [];
  let start: Record<string, unknown> | undefined;
  for (let page = 0; page < 10_000; page++) {
    const res = await aws.doc.send(
      new QueryCommand({
        TableName: aws.recordsTable,
        IndexName: 'byKind',
        KeyConditionExpression: 'kind = :k',
        ExpressionAttributeValues: { ':k': 'TOKEN' },
        ProjectionExpression: 'tokenId, generation, #s, lastRotationError, rotation',
        ExpressionAttributeNames: { '#s': 'status' },
        ExclusiveStartKey: start,
      }),
    );
    out.push(...((res.Items ?? []) as TokenState[]));
    start = res.LastEvaluatedKey;
    if (!start) break;
  }
  return out;
}

/** How many tokens are still due at `dueAt` (the sparse byDue index; a promoted token leaves it). */
async function dueCount(aws: AwsClients, dueAt: Date): Promise<number> {
  let count = 0;
  let start: Record<string, unknown> | undefined;
  for (let page = 0; page < 10_000; page++) {
    const res = await aws.doc.send(
      new QueryCommand({
        TableName: aws.recordsTable,
        IndexName: 'byDue',
        KeyConditionExpression: 'duePk = :due AND dueSk <= :at',
        ExpressionAttributeValues: { ':due': 'DUE', ':at': `${isoSeconds(dueAt)}#~` },
        Select: 'COUNT',
        ExclusiveStartKey: start,
      }),
    );
    count += res.Count ?? 0;
    start = res.LastEvaluatedKey;
    if (!start) break;
  }
  return count;
}

async function executions(
  aws: AwsClients,
  stateMachineArn: string,
  statusFilter?: 'RUNNING' | 'FAILED' | 'SUCCEEDED',
): Promise<ExecutionListItem[]> {
  const out: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const res = await aws.sfn.send(
      new ListExecutionsCommand({
        stateMachineArn,
        maxResults: 1000,
        nextToken,
        ...(statusFilter ? { statusFilter } : {}),
      }),
    );
    out.push(...(res.executions ?? []));
    nextToken = res.nextToken;
    if (!nextToken) break;
  }
  return out;
}

const isAtlassian = (c: CallEntry) => c.service === 'atlassian' && !c.operation.includes('control');

export async function runBurst(opts: BurstOptions): Promise<SectionResult> {
  const { rt, aws } = opts;
  const rotationArn = opts.functions.find((f) => f.shortName === 'PromoteToken')?.env.ROTATION_STATE_MACHINE_ARN ?? '';
  const now = await clockNow(rt);
  // Due one day ahead, on a whole second (schedules have second precision).
  const dueAt = new Date(Math.ceil(now.getTime() / 1000) * 1000 + 86_400_000);
  const prefix = `bench-burst-${Date.now().toString(36)}`;

  const seedStarted = performance.now();
  const seeded = await seedTokens({
    rt,
    aws,
    functions: opts.functions,
    count: opts.count,
    dueAt,
    prefix,
    requester: SEED.alice,
    concurrency: 4,
    log: opts.log,
  });
  const seedMs = performance.now() - seedStarted;
  opts.log(`  seeded ${seeded.length} tokens in ${round(seedMs / 1000, 1)} s`);
  const ours = new Set(seeded.map((s) => s.tokenId));
  const productLimit = (bundledPolicy(opts.functions) as { atlassianRequestsPerSecond?: number })
    .atlassianRequestsPerSecond;

  await setRateLimit(rt, opts.perSecond);
  const beforeIndex = (await callLog(rt)).length;
  const started = performance.now();
  // Move just past the due instant: every schedule fires at once. The advance answers within ~30 s, settled or not,
  // and then sets the clock to its target; a target just after the due instant means the clock does not jump while
  // the rotations run (a jump would shift every sandbox's clock under the limiter's queue).
  const advanceMs = dueAt.getTime() - (await clockNow(rt)).getTime() + 1000;
  const advance = advanceClock(rt, { seconds: Math.max(1, Math.ceil(advanceMs / 1000)) }).catch((e: unknown) => e);
  const queue = sampleLimiterQueue(rt, aws, 1000 / (productLimit ?? opts.perSecond));

  let done = 0;
  let failed = 0;
  let elapsedMs = 0;
  let timedOut = false;
  let lastLog = 0;
  for (;;) {
    await sleep(opts.pollMs);
    // Cheap probes (the runtime is the one doing the work): tokens still due, and executions that failed.
    const remaining = await dueCount(aws, dueAt);
    failed = new Set(
      (await executions(aws, rotationArn, 'FAILED'))
        .map((e) => (e.name ?? '').replace(/-g\d+-a\d+$/, ''))
        .filter((id) => ours.has(id)),
    ).size;
    done = seeded.length - remaining;
    elapsedMs = performance.now() - started;
    if (elapsedMs - lastLog >= 30_000) {
      lastLog = elapsedMs;
      opts.log(`  ${round(elapsedMs / 1000, 0)} s: ${done} rotated, ${failed} failed`);
    }
    if (remaining <= failed) break;
    if (elapsedMs > opts.timeoutMs) {
      timedOut = true;
      break;
    }
  }
  await advance;
  const queued = await queue.stop();
  const rotateCalls = (await callLog(rt)).slice(beforeIndex);
  const atl = rotateCalls.filter(isAtlassian);
  const accepted = atl.filter((c) => c.status !== 429);
  const limited = atl.length - accepted.length;
  const achievedPerSecond = accepted.length / (elapsedMs / 1000);
  // The product's own limiter (functions/adapters/aws/rate-limiter.ts) reserves a slot with a conditional UpdateItem
  // before each Atlassian call; nothing else in a rotation sends UpdateItem, so the successful ones count its slots
  // (a failed one is a caller that guessed the queue empty when it was not, or the reverse, and tried the other write).
  const slotsTaken = rotateCalls.filter(
    (c) => c.service === 'dynamodb' && c.operation === 'UpdateItem' && !c.errorCode,
  ).length;
  const slotRetries = rotateCalls.filter(
    (c) =>
      c.service === 'dynamodb' && c.operation === 'UpdateItem' && c.errorCode === 'ConditionalCheckFailedException',
  ).length;
  const seconds = secondBySecond(rotateCalls, opts.perSecond, queued.waitingSeconds);
  const minimumMs = (accepted.length / opts.perSecond) * 1000;

  // Grace period: advance past it so every previous generation is revoked, then check for orphans.
  await setRateLimit(rt, opts.perSecond);
  const graceStarted = performance.now();
  const graceAdvance = advanceClock(rt, { hours: 26 }).catch((e: unknown) => e);
  let running = 0;
  let graceTimedOut = false;
  for (;;) {
    await sleep(2000);
    running = (await executions(aws, rotationArn, 'RUNNING')).filter((e) =>
      ours.has((e.name ?? '').replace(/-g\d+-a\d+$/, '')),
    ).length;
    if (running === 0) break;
    if (performance.now() - graceStarted > opts.timeoutMs) {
      graceTimedOut = true;
      break;
    }
  }
  await graceAdvance;
  const graceMs = performance.now() - graceStarted;
  await setRateLimit(rt, 0);

  const states = new Map((await tokenStates(aws)).map((t) => [t.tokenId, t]));
  const fake = await getJson<{ label: string; status: string }[]>(`${rt.urls.atlassian}/__control/tokens`);
  const orphans: string[] = [];
  for (const t of fake) {
    const m = /^token-warden:(tok_[a-z2-7]{26}):g(\d+)$/.exec(t.label);
    if (!m || !ours.has(m[1] as string) || t.status === 'REVOKED') continue;
    const state = states.get(m[1] as string);
    const current = state && state.status !== 'REVOKED' && Number(m[2]) === state.generation;
    if (!current) orphans.push(t.label);
  }
  const failedExecutions = (await executions(aws, rotationArn, 'FAILED')).filter((e) =>
    ours.has((e.name ?? '').replace(/-g\d+-a\d+$/, '')),
  ).length;
  const failures = seeded.length - done;
  const fraction = achievedPerSecond / opts.perSecond;
  const persistence = persistenceCost(rt.dataDir);

  return {
    id: 'burst',
    title: `Burst: ${seeded.length} rotations due at once, Atlassian limited to ${opts.perSecond}/s`,
    rows: [
      row(`time to rotate all ${seeded.length}`, single(elapsedMs / 1000, 's')),
      row('  floor: accepted Atlassian calls / allowed rate', single(minimumMs / 1000, 's')),
      row('failures (not rotated)', single(failures, 'tokens'), { text: '0', met: failures === 0 }),
      row('  failed rotation executions', single(failedExecutions, 'executions')),
      row('orphans at the fake after the grace period', single(orphans.length, 'tokens'), {
        text: '0',
        met: orphans.length === 0 && !graceTimedOut,
      }),
      row('achieved Atlassian rate / allowed', single(fraction, 'x'), { text: '>= 0.8', met: fraction >= 0.8 }),
      row('  Atlassian calls accepted (during rotation)', single(accepted.length, 'calls')),
      row('  Atlassian calls refused with 429', single(limited, 'calls')),
      row('  product limiter: slots reserved', single(slotsTaken, 'slots')),
      row('  product limiter: longest queue seen', single(queued.longestMs / 1000, 's')),
      row('  grace-period phase (revoke previous)', single(graceMs / 1000, 's')),
      row('  seeding (not part of the burst)', single(seedMs / 1000, 's')),
    ],
    notes: [
      `Seeded through bench/seed-tokens.ts (real tokens minted at the fake, real secrets, records written by the product's RecordStore into the local DynamoDB, one-time schedules by RotationSchedules), all due at ${dueAt.toISOString()}.`,
      `Achieved rate = Atlassian calls answered other than 429 between the trigger and the last token rotated, divided by that wall time (${round(elapsedMs / 1000, 1)} s).`,
      productLimit === undefined
        ? "Own bound: the product has no limiter of its own; every due schedule starts its execution at once and the calls are paced by 429 + Retry-After alone. That is the gap against the issue's requirement not to rely on 429s."
        : `Own bound: every Atlassian call first reserves a slot from the product's shared limiter (evenly spaced slots, one every ${round(1000 / productLimit, 1)} ms for ${productLimit}/s from the policy's atlassianRequestsPerSecond, the next free one kept in one DynamoDB item); ${slotsTaken} slots were reserved (${slotRetries} conditional writes did not apply: a caller guessed the queue empty when it was not, or the reverse, and tried the other write). The queue of reserved slots, sampled every ${QUEUE_SAMPLE_MS} ms, was at most ${round(queued.longestMs / 1000, 1)} s long (${queued.samples} samples). It bounds the rate, not the concurrency: every due schedule still starts its execution at once, and on AWS up to ${seeded.length} Lambdas would queue for slots (a caller whose slot would be more than 20 s away gives up at once, and the workflow's retries take over).`,
      limited > 0
        ? `${limited} calls were refused with 429 and retried after Retry-After.${productLimit !== undefined && productLimit >= opts.perSecond ? ` The limiter's slots are ${round(1000 / productLimit, 1)} ms apart; calls that leave their slots late (a busy sandbox or event loop) can arrive bunched at the fake, whose bucket holds ${opts.perSecond}.` : ''}`
        : 'No call was refused with 429.',
      `Second by second (call-log timestamps, ${seconds.total} seconds with Atlassian calls): in ${seconds.atLimit} the calls reached the limit; in ${seconds.belowWithWait} they stayed below it while the limiter's queue held a waiting caller (sampled); in ${seconds.belowIdle} they stayed below it with nobody queued, i.e. the local runtime had no more calls ready. The runtime runs every emulator on one Node thread and at most 4 sandboxes per function. The Step Functions and Secrets Manager emulators append each change to their file and rewrite it whole only once the appended changes outweigh it: at the end of the burst one whole rewrite of the executions file (${persistence.stepFunctionsMb} MB) takes ${persistence.stepFunctionsMs} ms, of the secrets file (${persistence.secretsMb} MB) ${persistence.secretsMs} ms.`,
      ...(timedOut
        ? [
            `The rotations did not all finish within ${opts.timeoutMs / 1000} s; ${done} rotated, ${failed} failed at the cut-off.`,
          ]
        : []),
      ...(graceTimedOut
        ? [
            `${running} rotation executions were still running after the grace period at the cut-off; the orphan check is not final.`,
          ]
        : []),
      ...(orphans.length ? [`Orphans (first 5): ${orphans.slice(0, 5).join(', ')}`] : []),
    ],
    details: {
      count: seeded.length,
      perSecond: opts.perSecond,
      dueAt: dueAt.toISOString(),
      rotated: done,
      failedAtCutoff: failed,
      failedExecutions,
      atlassian: { total: atl.length, accepted: accepted.length, rateLimited: limited, byRoute: countBy(atl) },
      elapsedMs,
      graceMs,
      persistence,
      limiter: {
        productLimit,
        slotsTaken,
        slotRetries,
        queue: { longestMs: queued.longestMs, samples: queued.samples },
      },
      seconds,
      orphans: orphans.slice(0, 50),
      timedOut,
      graceTimedOut,
    },
  };
}

/** What one whole rewrite of the runtime's biggest stores costs now (read once, then stringify + write, median of 3). */
function persistenceCost(dataDir: string) {
  const time = (file: string) => {
    const path = join(dataDir, file);
    if (!existsSync(path)) return { mb: 0, ms: 0 };
    // The document with its appended changes: what a rewrite would write is about as big.
    const { document, entries } = new JsonLog<unknown, unknown>(path, () => ({})).read();
    const out = join(tmpdir(), `token-warden-bench-${process.pid}.json`);
    const ms: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      writeFileSync(out, JSON.stringify({ document, entries }));
      ms.push(performance.now() - t);
    }
    rmSync(out, { force: true });
    return { mb: round(statSync(path).size / 1e6, 1), ms: round(median(ms), 0) };
  };
  const sfn = time('stepfunctions.json');
  const sm = time('secretsmanager.json');
  return { stepFunctionsMb: sfn.mb, stepFunctionsMs: sfn.ms, secretsMb: sm.mb, secretsMs: sm.ms };
}

const QUEUE_SAMPLE_MS = 250;

/**
 * Samples the product limiter's queue while the rotations run: the limiter's one item (`RATE#atlassian` / `slots`)
 * holds the start of the next free slot (epoch microseconds, simulated clock); a start more than one interval ahead
 * of the simulated now means a caller holds a reserved slot and is waiting for it. Returns the simulated seconds in
 * which a sample saw a waiting caller, and the longest queue seen.
 */
function sampleLimiterQueue(rt: LocalRuntime, aws: AwsClients, intervalMs: number) {
  const waitingSeconds = new Set<number>();
  let longestMs = 0;
  let samples = 0;
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      await sleep(QUEUE_SAMPLE_MS);
      try {
        const [now, item] = await Promise.all([clockNow(rt), getItem(aws, 'RATE#atlassian', 'slots')]);
        const nextUs = typeof item?.nextUs === 'number' ? item.nextUs : undefined;
        samples++;
        if (nextUs === undefined) continue;
        const aheadMs = nextUs / 1000 - now.getTime();
        longestMs = Math.max(longestMs, aheadMs);
        // More than one interval ahead: at least one reserved slot is still to come.
        if (aheadMs > intervalMs) waitingSeconds.add(Math.floor(now.getTime() / 1000));
      } catch {
        // a missed sample is only a missed sample
      }
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      return { waitingSeconds, longestMs: Math.max(0, longestMs), samples };
    },
  };
}

/** Seconds of the rotation phase (by call-log time) at the limit, below it with a caller queued, and below it idle. */
function secondBySecond(calls: CallEntry[], perSecond: number, waited: Set<number>) {
  const second = (c: CallEntry) => Math.floor(Date.parse(c.at) / 1000);
  const accepted = new Map<number, number>();
  for (const c of calls) {
    if (isAtlassian(c) && c.status !== 429) accepted.set(second(c), (accepted.get(second(c)) ?? 0) + 1);
  }
  let atLimit = 0;
  let belowWithWait = 0;
  let belowIdle = 0;
  for (const [s, n] of accepted) {
    if (n >= perSecond) atLimit++;
    else if (waited.has(s)) belowWithWait++;
    else belowIdle++;
  }
  return { total: accepted.size, atLimit, belowWithWait, belowIdle };
}

function countBy(calls: CallEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const c of calls) out[`${c.operation} ${c.status}`] = (out[`${c.operation} ${c.status}`] ?? 0) + 1;
  return out;
}
