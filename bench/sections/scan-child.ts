/**
 * One personal-token scan in a process of its own, for the scan section (`scan.ts`): the fake Atlassian and dynalite
 * live in the parent, so this process's peak memory is the scan's (and the modules it loads), not the org's.
 *
 * Started with `fork` under tsx; takes one {@link ScanChildInput} message, runs `beginScan` then `runScan` (the
 * real use case, record store, audit log and Atlassian client) and answers one {@link ScanChildResult}. Every
 * DynamoDB write the scan sends is counted by table and by what it writes: the scan's own records (`SCAN#…`,
 * `PT_SCAN_LOCK`, `PT_SCAN_LATEST`), personal-token records (`PT#…`), notification markers (`NOTE#…`), and audit
 * records by event. A conditional write that does not apply is counted too (it is billed).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { getHeapStatistics } from 'node:v8';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AtlassianClient } from '../../functions/adapters/atlassian/client';
import { AuditLog } from '../../functions/adapters/aws/audit-log';
import { createRecordStore } from '../../functions/adapters/aws/record-store';
import { cryptoRandom } from '../../functions/composition/random';
import { parsePolicy } from '../../functions/domain/policy-text';
import { beginScan, type PersonalTokenDeps, runScan } from '../../functions/use-cases/personal-tokens';

export interface ScanChildInput {
  dynamoEndpoint: string;
  tableName: string;
  auditTableName: string;
  atlassianUrl: string;
  orgApiKey: string;
  /** The scan's clock (ISO 8601), the fake's too. */
  now: string;
  /** Also answer the writes per personal token (`PT#` records and audit records), for the changed-token rescan. */
  perToken: boolean;
}

/** Writes counted by what they write. */
export interface WriteCounts {
  /** The scan's own records: `SCAN#…`, `PT_SCAN_LOCK`, `PT_SCAN_LATEST`. */
  scanRecord: number;
  /** `PT#…` records. */
  personalToken: number;
  /** `NOTE#…` (a notification sent once). */
  notificationMarker: number;
  /** Anything else in the records table, by key prefix. */
  otherRecords: Record<string, number>;
  /** Audit records by event. */
  audit: Record<string, number>;
}

export interface ScanChildResult {
  ms: number;
  scan: { status: string; listed: number; new: number; gone: number; revoked: number; skipped?: number };
  writes: WriteCounts;
  /** Every DynamoDB command sent, by name (a batch counts once). */
  commands: Record<string, number>;
  /** Items read: GetItem results asked for, BatchGetItem keys asked for, Query items returned. */
  itemsRead: number;
  /** `atlassianTokenId` → writes of its `PT#` record and of its audit records (only with `perToken`). */
  perToken?: Record<string, { record: number; audit: number }>;
  memory: {
    /** Before the scan, after a full GC: the process with its modules loaded and clients built. */
    baselineRssMb: number;
    baselineHeapMb: number;
    /**
     * The process's peak resident set, start-up included: `VmHWM` of `/proc/self/status` on Linux, else the largest
     * RSS sampled. Not `process.resourceUsage().maxRSS`: Linux carries the parent's high-water mark into it across
     * fork and exec, so a child of a large process reports the parent's size.
     */
    peakRssMb: number;
    peakRssSource: 'VmHWM' | 'sampled';
    /** Largest RSS sampled every {@link SAMPLE_MS} ms during the scan. */
    sampledPeakRssMb: number;
    /** Largest V8 used heap seen, sampled every {@link SAMPLE_MS} ms during the scan. */
    peakHeapMb: number;
    samples: number;
  };
}

const SAMPLE_MS = 25;
const MB = 1024 * 1024;

/** The peak resident set of this process's memory map (Linux), in MB. */
function highWaterMb(): number | undefined {
  try {
    const hit = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync('/proc/self/status', 'utf8'));
    return hit ? Number(hit[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

function emptyCounts(): WriteCounts {
  return { scanRecord: 0, personalToken: 0, notificationMarker: 0, otherRecords: {}, audit: {} };
}

type Command = { constructor: { name: string }; input: Record<string, unknown> };
type Item = Record<string, unknown>;

async function scanOnce(input: ScanChildInput): Promise<ScanChildResult> {
  const project = join(__dirname, '..', '..');
  const policy = parsePolicy(readFileSync(join(project, 'policy', 'policy.yaml'), 'utf8'), 'policy.yaml');
  const now = new Date(input.now);
  const client = new DynamoDBClient({
    endpoint: input.dynamoEndpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
  });
  const doc = DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });

  const writes = emptyCounts();
  const commands: Record<string, number> = {};
  const perToken: Record<string, { record: number; audit: number }> = {};
  let itemsRead = 0;
  const tokenTally = (id: string, what: 'record' | 'audit') => {
    if (!input.perToken) return;
    const entry = perToken[id] ?? { record: 0, audit: 0 };
    entry[what]++;
    perToken[id] = entry;
  };
  const countWrite = (table: string, key: Item | undefined, item: Item | undefined) => {
    if (table === input.auditTableName) {
      const event = String(item?.sk ?? key?.sk ?? '').split('#')[0] || 'unknown';
      writes.audit[event] = (writes.audit[event] ?? 0) + 1;
      const correlation = String(item?.correlationId ?? '');
      if (correlation.startsWith('personal-token:')) tokenTally(correlation.slice('personal-token:'.length), 'audit');
      return;
    }
    const pk = String(key?.pk ?? item?.pk ?? '');
    if (pk.startsWith('SCAN#') || pk === 'PT_SCAN_LOCK' || pk === 'PT_SCAN_LATEST') writes.scanRecord++;
    else if (pk.startsWith('PT#')) {
      writes.personalToken++;
      tokenTally(pk.slice(3), 'record');
    } else if (pk.startsWith('NOTE#')) writes.notificationMarker++;
    else {
      const prefix = pk.split('#')[0] ?? pk;
      writes.otherRecords[prefix] = (writes.otherRecords[prefix] ?? 0) + 1;
    }
  };
  const tally = (command: Command) => {
    const name = command.constructor.name;
    commands[name] = (commands[name] ?? 0) + 1;
    const i = command.input;
    const table = String(i.TableName ?? '');
    if (name === 'PutCommand') countWrite(table, undefined, i.Item as Item);
    else if (name === 'UpdateCommand' || name === 'DeleteCommand') countWrite(table, i.Key as Item, undefined);
    else if (name === 'GetCommand') itemsRead++;
    else if (name === 'BatchGetCommand') {
      for (const request of Object.values(i.RequestItems as Record<string, { Keys: unknown[] }>))
        itemsRead += request.Keys.length;
    } else if (name === 'BatchWriteCommand') {
      for (const [t, requests] of Object.entries(i.RequestItems as Record<string, Item[]>)) {
        for (const r of requests) {
          const put = r.PutRequest as { Item: Item } | undefined;
          const del = r.DeleteRequest as { Key: Item } | undefined;
          countWrite(t, del?.Key, put?.Item);
        }
      }
    } else if (name === 'TransactWriteCommand') {
      for (const t of i.TransactItems as Item[]) {
        const part = (t.Put ?? t.Update ?? t.Delete ?? t.ConditionCheck) as Item;
        if (t.ConditionCheck) continue;
        countWrite(String(part.TableName ?? ''), part.Key as Item | undefined, part.Item as Item | undefined);
      }
    }
  };
  const send = doc.send.bind(doc) as (command: Command, ...rest: unknown[]) => Promise<Item>;
  (doc as unknown as { send: typeof send }).send = async (command, ...rest) => {
    tally(command);
    const out = await send(command, ...rest);
    if (command.constructor.name === 'QueryCommand') itemsRead += ((out.Items as unknown[] | undefined) ?? []).length;
    return out;
  };

  const clock = { now: () => now };
  const deps: PersonalTokenDeps = {
    store: createRecordStore(doc, input.tableName, clock),
    audit: new AuditLog(doc, input.auditTableName),
    atlassian: new AtlassianClient({
      apiBaseUrl: input.atlassianUrl,
      siteBaseUrl: input.atlassianUrl,
      orgApiKey: async () => input.orgApiKey,
      now: () => now,
    }),
    clock,
    random: cryptoRandom,
    policy,
  };

  (globalThis as { gc?: () => void }).gc?.();
  const baselineRssMb = process.memoryUsage.rss() / MB;
  const baselineHeapMb = getHeapStatistics().used_heap_size / MB;
  let peakHeap = 0;
  let peakRss = 0;
  let samples = 0;
  const sample = () => {
    peakHeap = Math.max(peakHeap, getHeapStatistics().used_heap_size);
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
    samples++;
  };
  const timer = setInterval(sample, SAMPLE_MS);
  const started = performance.now();
  let result: Awaited<ReturnType<typeof runScan>>;
  try {
    const scan = await beginScan(deps, {});
    result = await runScan(deps, scan.scanId);
  } finally {
    clearInterval(timer);
  }
  const ms = performance.now() - started;
  sample();
  const hwm = highWaterMb();
  client.destroy();
  const s = result.scan;
  return {
    ms,
    scan: {
      status: s.status,
      listed: s.listed,
      new: s.new,
      gone: s.gone,
      revoked: s.revoked,
      ...(s.skipped === undefined ? {} : { skipped: s.skipped }),
    },
    writes,
    commands,
    itemsRead,
    ...(input.perToken ? { perToken } : {}),
    memory: {
      baselineRssMb,
      baselineHeapMb,
      peakRssMb: hwm ?? peakRss / MB,
      peakRssSource: hwm === undefined ? 'sampled' : 'VmHWM',
      sampledPeakRssMb: peakRss / MB,
      peakHeapMb: peakHeap / MB,
      samples,
    },
  };
}

process.once('message', (input: ScanChildInput) => {
  scanOnce(input).then(
    (result) => process.send?.({ ok: true, result }, () => process.exit(0)),
    (error: unknown) =>
      process.send?.(
        { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) },
        () => process.exit(1),
      ),
  );
});
