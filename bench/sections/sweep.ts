/**
 * 5. Sweep scale: the daily sweep (`sweep()` from functions/use-cases/sweep.ts, the real use case and the real
 * RecordStore) in-process against dynalite (test/support/dynamo.ts), over stored tokens of which a share is due.
 * `workflows.start`, the mailer and Atlassian are stubs; DynamoDB is real. Every DynamoDB command the sweep sends is
 * counted by name, so a Scan would show.
 *
 * Three runs: SMALL tokens with 1 % due, LARGE (10x) tokens with 1 % due, and a control: LARGE tokens with only as
 * many due as SMALL has. Items read and time must follow the due count (SMALL ~ control, LARGE ~ 10x), not the
 * total. The control and LARGE share one table: the control sweeps at a moment when only the earliest-due slice is
 * due, then that slice is restored before LARGE sweeps.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AtlassianClient } from '../../functions/adapters/atlassian/client';
import { AuditLog } from '../../functions/adapters/aws/audit-log';
import { createRecordStore } from '../../functions/adapters/aws/record-store';
import type { TokenVault } from '../../functions/adapters/aws/token-vault';
import type { Workflows } from '../../functions/adapters/aws/workflow';
import { derivedId, mintLabel, secretNameFor, secretVersionId, tokenIdFor } from '../../functions/domain/naming';
import { parsePolicy } from '../../functions/domain/policy-text';
import { isoSeconds } from '../../functions/domain/ports';
import type { StoredToken } from '../../functions/domain/records';
import type { Mailer } from '../../functions/use-cases/ports';
import { type SweepReport, sweep } from '../../functions/use-cases/sweep';
import { type LocalDynamo, startDynamo } from '../../local/aws/dynalite';
import { type Row, row, type SectionResult } from '../lib/report';
import { figure, median, round } from '../lib/stats';

const PROJECT = join(__dirname, '..', '..');
const DAY = 86_400_000;

export interface SweepOptions {
  small: number;
  large: number;
  dueShare: number;
  /** Sweeps timed per configuration (the due tokens are restored between them). */
  repeats: number;
  log: (line: string) => void;
}

/** The item exactly as `RecordStore.createToken` writes it, captured from a store whose client only records. */
async function itemOf(token: StoredToken): Promise<Record<string, unknown>> {
  let captured: Record<string, unknown> | undefined;
  const recorder = {
    send: async (command: { input: { Item?: Record<string, unknown> } }) => {
      captured = command.input.Item;
      return {};
    },
  } as unknown as DynamoDBDocumentClient;
  await createRecordStore(recorder, 'capture').createToken(token);
  if (!captured) throw new Error('createToken wrote nothing');
  return captured;
}

function tokenAt(i: number, prefix: string, nextRotationAt: Date, now: Date): StoredToken {
  const requestId = `req_${derivedId('bench-sweep', prefix, String(i))}`;
  const tokenId = tokenIdFor(requestId);
  const expiresAt = isoSeconds(new Date(nextRotationAt.getTime() + 7 * DAY));
  const createdAt = isoSeconds(new Date(now.getTime() - 30 * DAY));
  const name = `${prefix}-${i}`;
  return {
    tokenId,
    requestId,
    serviceAccount: 'jenkins-bot',
    name,
    owner: `owner${i % 50}@example.com`,
    secretName: secretNameFor('jenkins-bot', name),
    secretArn: `arn:aws:secretsmanager:us-east-1:000000000000:secret:${secretNameFor('jenkins-bot', name)}-AbCdEf`,
    status: 'ACTIVE',
    scopes: ['read:jira-work', 'read:jira-user'],
    lifetimeDays: 90,
    consumers: ['arn:aws:iam::000000000000:role/jenkins'],
    expiresAt,
    generation: 1,
    createdAt,
    nextRotationAt: isoSeconds(nextRotationAt),
    generations: [
      {
        generation: 1,
        label: mintLabel(tokenId, 1),
        atlassianTokenId: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
        expiresAt,
        versionId: secretVersionId(tokenId, 1),
        mintedAt: createdAt,
      },
    ],
    correlationId: requestId,
    version: 1,
  };
}

async function batchWrite(db: LocalDynamo, items: Record<string, unknown>[]): Promise<void> {
  for (let i = 0; i < items.length; i += 25) {
    let pending: { PutRequest: { Item: Record<string, unknown> } }[] = items
      .slice(i, i + 25)
      .map((Item) => ({ PutRequest: { Item } }));
    for (let attempt = 0; pending.length > 0 && attempt < 20; attempt++) {
      const out = await db.doc.send(new BatchWriteCommand({ RequestItems: { [db.tableName]: pending } }));
      pending = (out.UnprocessedItems?.[db.tableName] ?? []) as typeof pending;
    }
    if (pending.length > 0) throw new Error('dynalite left items unprocessed');
  }
}

interface Measured {
  totalTokens: number;
  dueTokens: number;
  ms: number[];
  report: SweepReport;
  commands: Record<string, number>;
}

export async function runSweep(opts: SweepOptions): Promise<SectionResult> {
  const policy = parsePolicy(readFileSync(join(PROJECT, 'policy', 'policy.yaml'), 'utf8'), 'policy.yaml');
  const now = new Date(Date.UTC(2027, 0, 15, 3, 0, 0));
  const results: Record<string, Measured> = {};

  /** Seeds `total` tokens; `due` of them come due before `now`, the earliest `early` of those before `now − 1 day`. */
  const seed = async (db: LocalDynamo, total: number, due: number, early: number, prefix: string) => {
    const earlyItems: Record<string, unknown>[] = [];
    const dueItems: Record<string, unknown>[] = [];
    let batch: Record<string, unknown>[] = [];
    const started = performance.now();
    for (let i = 0; i < total; i++) {
      // Spread the due ones over the day before `now`, the early ones two days before, the rest up to 80 days ahead.
      const at =
        i < early
          ? new Date(now.getTime() - 2 * DAY + i * 1000)
          : i < due
            ? new Date(now.getTime() - DAY / 2 + i * 1000)
            : new Date(now.getTime() + DAY + (i % 80) * DAY + i);
      const item = await itemOf(tokenAt(i, prefix, at, now));
      if (i < early) earlyItems.push(item);
      if (i < due) dueItems.push(item);
      batch.push(item);
      if (batch.length >= 500) {
        await batchWrite(db, batch);
        batch = [];
      }
    }
    await batchWrite(db, batch);
    opts.log(`  seeded ${total} tokens (${due} due) in ${round((performance.now() - started) / 1000, 1)} s`);
    return { earlyItems, dueItems };
  };

  /** A sweep at `at` over `db` that can be run repeatedly: it restores `restore` (the due tokens it locks) after each. */
  const runner = (db: LocalDynamo, at: Date, total: number, restore: Record<string, unknown>[]) => {
    let commands: Record<string, number> = {};
    db.client.middlewareStack.add(
      (next, context) => async (args) => {
        const name = context.commandName ?? 'unknown';
        commands[name] = (commands[name] ?? 0) + 1;
        return next(args);
      },
      { step: 'initialize', name: 'benchCount', override: true },
    );
    const deps = {
      store: createRecordStore(db.doc, db.tableName),
      audit: new AuditLog(db.doc, db.auditTableName, async () => {}),
      workflows: {
        start: async () => 'arn:aws:states:us-east-1:000000000000:execution:TokenWarden-rotation:bench',
      } as unknown as Workflows,
      mailer: { send: async () => undefined } as unknown as Mailer,
      clock: { now: () => at },
      policy,
      rotationStateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:TokenWarden-rotation',
      atlassian: {} as AtlassianClient,
      // The seeded tokens have no secrets: an expired one has nothing to close.
      vault: { describe: async () => undefined } as unknown as TokenVault,
    };
    const measured: Measured = {
      totalTokens: total,
      dueTokens: 0,
      ms: [],
      report: undefined as unknown as SweepReport,
      commands: {},
    };
    return {
      measured,
      once: async () => {
        commands = {};
        const started = performance.now();
        const report = await sweep(deps);
        measured.ms.push(performance.now() - started);
        measured.report = report;
        measured.dueTokens = report.due;
        measured.commands = { ...commands };
        await batchWrite(db, restore);
      },
    };
  };

  const smallDue = Math.max(1, Math.round(opts.small * opts.dueShare));
  const largeDue = Math.max(1, Math.round(opts.large * opts.dueShare));
  const small = await startDynamo();
  const large = await startDynamo();
  try {
    const smallSeed = await seed(small, opts.small, smallDue, 0, 'sweep-s');
    const largeSeed = await seed(large, opts.large, largeDue, smallDue, 'sweep-l');
    const runs = {
      small: runner(small, now, opts.small, smallSeed.dueItems),
      // Control: a moment when only the earliest slice (as many as SMALL has due) is due.
      control: runner(large, new Date(now.getTime() - DAY), opts.large, largeSeed.earlyItems),
      large: runner(large, now, opts.large, largeSeed.dueItems),
    };
    // Interleaved rounds: load on the (shared) machine hits the three alike.
    for (let r = 0; r < opts.repeats; r++) {
      for (const run of Object.values(runs)) await run.once();
    }
    for (const [key, run] of Object.entries(runs)) results[key] = run.measured;
  } finally {
    await small.close();
    await large.close();
  }

  const s = results.small as Measured;
  const c = results.control as Measured;
  const l = results.large as Measured;
  const scanned = Object.entries({ ...s.commands, ...c.commands, ...l.commands }).filter(([k]) => /Scan/.test(k));
  const readsFollowDue = [s, c, l].every((m) => m.report.itemsRead === m.dueTokens);
  const rows: Row[] = [];
  for (const [label, m] of [
    [`${opts.small} tokens, ${smallDue} due`, s],
    [`${opts.large} tokens, ${smallDue} due (control)`, c],
    [`${opts.large} tokens, ${largeDue} due`, l],
  ] as const) {
    rows.push(row(`${label}: time`, figure(m.ms, 'ms')));
    rows.push(
      row(`${label}: items read`, figure([m.report.itemsRead], 'items'), {
        text: `= due (${m.dueTokens})`,
        met: m.report.itemsRead === m.dueTokens,
      }),
    );
  }
  const sameDueRatio = median(c.ms) / median(s.ms);
  const tenXDueRatio = median(l.ms) / median(s.ms);
  rows.push(
    row('time ratio: 10x tokens, same due (control / small)', figure([sameDueRatio], 'x'), {
      text: '~1 (flat in total tokens)',
      met: sameDueRatio < 2,
    }),
  );
  rows.push(row('time ratio: 10x tokens, 10x due (large / small)', figure([tenXDueRatio], 'x')));
  rows.push(
    row('Scan commands sent', figure([scanned.reduce((n, [, v]) => n + v, 0)], 'commands'), {
      text: '0',
      met: scanned.length === 0,
    }),
  );

  return {
    id: 'sweep',
    title: 'Sweep scale (in-process, dynalite)',
    rows,
    notes: [
      `The sweep queries the sparse byDue index (duePk = DUE, dueSk <= now) in pages of 100; commands sent in the large run: ${JSON.stringify(l.commands)}.`,
      `Per due token the sweep does a GetItem and a conditional PutItem (rotation lock) and calls workflows.start (stubbed here); ${readsFollowDue ? 'items read equal the due count in every run' : 'items read differ from the due count'}.`,
      'dynalite is an in-process DynamoDB emulator (LevelDB in memory): absolute times are this machine; the ratios are the figure.',
    ],
    details: Object.fromEntries(
      Object.entries(results).map(([k, m]) => [k, { ...m, ms: m.ms.map((v) => round(v, 1)) }]),
    ),
  };
}
