/**
 * 7. Personal-token scan scale: `beginScan` then `runScan` (functions/use-cases/personal-tokens.ts, with the real
 * record store, audit log and Atlassian client) over an org of SMALL and of LARGE (10×) personal tokens at the fake
 * Atlassian, against dynalite. Each scan runs in a child process (`scan-child.ts`) so that its peak memory is the
 * scan's; the fake and dynalite stay in this process.
 *
 * Per org size: a first scan (every token new), `rescans` unchanged rescans (interleaved between the two sizes, so
 * load on the machine hits them alike), then 1 % of the tokens change at the fake — a third new, a third used, a
 * third revoked — and one more rescan. Every scan runs at the same simulated instant, so no token's flags change by
 * the clock alone. Counted: Atlassian calls per route (the fake's `onCall`), DynamoDB writes by what they write (the
 * child), wall time and peak memory (the child).
 */
import { fork } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { type LocalDynamo, startDynamo } from '../../local/aws/dynalite';
import { createFakeAtlassian, DEMO_SEED, type FakeAtlassian, type FakeTokenRecord } from '../../local/fake-atlassian';
import { type Row, row, type SectionResult } from '../lib/report';
import { figure, median, round } from '../lib/stats';
import type { ScanChildInput, ScanChildResult, WriteCounts } from './scan-child';

const DAY = 86_400_000;
const PAGE = 1000;
const TOKENS_PER_MEMBER = 5;
const ORG_KEY = 'bench-org-api-key';
/** Peak memory the scan function may reach at LARGE (its Lambda's memory is larger; this is the bound). */
const PEAK_RSS_TARGET_MB = 256;
/** A 10× org may add at most this share to the peak and still be called flat. */
const FLAT_RATIO = 1.5;

export interface ScanOptions {
  small: number;
  large: number;
  /** Share of the tokens changed at the fake before the last rescan. */
  changedShare: number;
  /** Unchanged rescans timed per org size. */
  rescans: number;
  /** A single scan is given up after this long. */
  timeoutMs: number;
  log: (line: string) => void;
}

interface Org {
  size: number;
  db: LocalDynamo;
  fake: FakeAtlassian;
  server: Server;
  url: string;
  endpoint: string;
  calls: Record<string, number>;
  loadMs: number;
}

interface Measured extends ScanChildResult {
  atlassianCalls: Record<string, number>;
}

interface Changed {
  added: string[];
  used: string[];
  revoked: string[];
}

async function startOrg(size: number, now: Date, log: (line: string) => void): Promise<Org> {
  const db = await startDynamo();
  const calls: Record<string, number> = {};
  // The seed's own personal token is left out: the org holds exactly `size` tokens.
  const fake = createFakeAtlassian({
    now: () => now,
    orgApiKey: ORG_KEY,
    seed: { ...DEMO_SEED, personalTokens: [] },
    onCall: (call) => {
      const key = `${call.route} ${call.status}`;
      calls[key] = (calls[key] ?? 0) + 1;
    },
  });
  const started = performance.now();
  fake.state.addGeneratedPersonalTokens({
    members: Math.ceil(size / TOKENS_PER_MEMBER),
    tokensPerMember: TOKENS_PER_MEMBER,
    now,
    prefix: `s${size}`,
  });
  const loadMs = performance.now() - started;
  const listed = fake.state.tokens.filter((t) => !t.revokedAt).length;
  if (listed !== Math.ceil(size / TOKENS_PER_MEMBER) * TOKENS_PER_MEMBER) throw new Error(`the fake holds ${listed}`);
  const server = await fake.listen(0);
  const endpoint = await db.client.config.endpoint?.();
  if (!endpoint) throw new Error('dynalite has no endpoint');
  log(`  ${size} personal tokens loaded into the fake in ${round(loadMs / 1000, 2)} s`);
  return {
    size: listed,
    db,
    fake,
    server,
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    endpoint: `${endpoint.protocol}//${endpoint.hostname}:${endpoint.port}`,
    calls,
    loadMs,
  };
}

/** One scan in a child process; the Atlassian calls it made are read from the fake. */
function scanIn(org: Org, now: Date, perToken: boolean, timeoutMs: number): Promise<Measured> {
  for (const key of Object.keys(org.calls)) delete org.calls[key];
  const input: ScanChildInput = {
    dynamoEndpoint: org.endpoint,
    tableName: org.db.tableName,
    auditTableName: org.db.auditTableName,
    atlassianUrl: org.url,
    orgApiKey: ORG_KEY,
    now: now.toISOString(),
    perToken,
  };
  return new Promise((resolve, reject) => {
    const child = fork(join(__dirname, 'scan-child.ts'), [], {
      cwd: join(__dirname, '..', '..'),
      execArgv: ['--import', 'tsx', '--expose-gc'],
      // The functions' metrics are EMF lines on stdout: not ours to print.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      env: { ...process.env, POWERTOOLS_METRICS_NAMESPACE: 'bench', POWERTOOLS_SERVICE_NAME: 'bench-scan' },
    });
    let answer: { ok: true; result: ScanChildResult } | { ok: false; error: string } | undefined;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('message', (message) => {
      answer = message as typeof answer;
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (answer?.ok) resolve({ ...answer.result, atlassianCalls: { ...org.calls } });
      else if (answer) reject(new Error(`the scan failed: ${answer.error}`));
      else reject(new Error(`the scan process ended (${signal ?? code}) without an answer`));
    });
    child.send(input);
  });
}

/** 1 % of the org changes at the fake: a third new tokens, a third used (lastActiveAt moves), a third revoked. */
function change(org: Org, share: number, now: Date): Changed {
  const count = Math.max(3, Math.round(org.size * share));
  const added = Math.round(count / 3);
  const used = Math.round(count / 3);
  const revoked = count - added - used;
  const live = org.fake.state.tokens.filter((t) => !t.revokedAt);
  const step = Math.floor(live.length / (used + revoked));
  const picked = Array.from({ length: used + revoked }, (_, i) => live[i * step] as FakeTokenRecord);
  const out: Changed = { added: [], used: [], revoked: [] };
  for (const [i, record] of picked.entries()) {
    if (i % 2 === 0 && out.used.length < used) {
      org.fake.state.touch(record, now);
      out.used.push(record.id);
    } else {
      if (!org.fake.state.revoke(record.accountId, record.id, now)) throw new Error('the fake refused a revoke');
      out.revoked.push(record.id);
    }
  }
  const members = org.fake.state.accounts.filter((a) => a.kind === 'human' && a.accountId.includes(':gen-'));
  for (let i = 0; i < added; i++) {
    const member = members[(i * 7) % members.length];
    if (!member) throw new Error('the fake has no generated members');
    const record = org.fake.state.addToken({
      accountId: member.accountId,
      label: `new token ${i + 1}`,
      scopes: [],
      expiry: new Date(now.getTime() + 365 * DAY),
      value: randomUUID(),
      now,
    });
    out.added.push(record.id);
  }
  return out;
}

const sum = (counts: Record<string, number>) => Object.values(counts).reduce((n, v) => n + v, 0);
/** Writes other than the scan's own records. */
const beyondScanRecord = (w: WriteCounts) =>
  w.personalToken + w.notificationMarker + sum(w.otherRecords) + sum(w.audit);
const allWrites = (w: WriteCounts) => w.scanRecord + beyondScanRecord(w);
const inventoryCalls = (m: Measured) =>
  Object.entries(m.atlassianCalls)
    .filter(([k]) => k.startsWith('inventory '))
    .reduce((n, [, v]) => n + v, 0);
const pagesOf = (m: Measured) => Math.max(1, Math.ceil((m.scan.listed + (m.scan.skipped ?? 0)) / PAGE));
const fmt = (n: number) => n.toLocaleString('en-US');

export async function runScanScale(opts: ScanOptions): Promise<SectionResult> {
  const now = new Date(Date.UTC(2027, 0, 15, 4, 0, 0));
  const orgs: Org[] = [];
  const first: Measured[] = [];
  const rescans: Measured[][] = [[], []];
  const changedRuns: Measured[] = [];
  const changes: Changed[] = [];
  try {
    for (const size of [opts.small, opts.large]) orgs.push(await startOrg(size, now, opts.log));
    for (const org of orgs) {
      const m = await scanIn(org, now, false, opts.timeoutMs);
      if (m.scan.status !== 'COMPLETE') throw new Error(`the first scan of ${org.size} is ${m.scan.status}`);
      opts.log(`  first scan of ${org.size}: ${round(m.ms / 1000, 1)} s, peak RSS ${round(m.memory.peakRssMb, 1)} MB`);
      first.push(m);
    }
    for (let r = 0; r < opts.rescans; r++) {
      for (const [i, org] of orgs.entries()) {
        const m = await scanIn(org, now, false, opts.timeoutMs);
        opts.log(`  unchanged rescan of ${org.size}: ${round(m.ms / 1000, 1)} s, ${allWrites(m.writes)} writes`);
        rescans[i]?.push(m);
      }
    }
    for (const org of orgs) {
      const changed = change(org, opts.changedShare, now);
      const m = await scanIn(org, now, true, opts.timeoutMs);
      opts.log(`  rescan of ${org.size} with 1 % changed: ${round(m.ms / 1000, 1)} s, ${allWrites(m.writes)} writes`);
      changes.push(changed);
      changedRuns.push(m);
    }
  } finally {
    for (const org of orgs) {
      await new Promise<void>((resolve) => org.server.close(() => resolve()));
      await org.db.close();
    }
  }

  const rows: Row[] = [];
  const notes: string[] = [];
  const details: Record<string, unknown> = {};
  for (const [i, org] of orgs.entries()) {
    const f = first[i] as Measured;
    const rs = rescans[i] as Measured[];
    const c = changedRuns[i] as Measured;
    const ch = changes[i] as Changed;
    const n = fmt(org.size);
    const all = [f, ...rs, c];
    const callsMatch = all.every((m) => inventoryCalls(m) === pagesOf(m) && sum(m.atlassianCalls) === pagesOf(m));
    rows.push(row(`${n} tokens: first scan (all new): time`, figure([f.ms], 'ms')));
    rows.push(
      row(
        `${n} tokens: unchanged rescan: time`,
        figure(
          rs.map((m) => m.ms),
          'ms',
        ),
      ),
    );
    rows.push(
      row(
        `${n} tokens: Atlassian calls per scan`,
        figure(
          all.map((m) => sum(m.atlassianCalls)),
          'calls',
        ),
        {
          text: `= pages of ${fmt(PAGE)} (${fmt(pagesOf(f))})`,
          met: callsMatch,
        },
      ),
    );
    rows.push(
      row(`${n} tokens: first scan: writes per new token`, figure([beyondScanRecord(f.writes) / f.scan.new], 'writes')),
    );
    const unchangedBeyond = rs.map((m) => beyondScanRecord(m.writes));
    rows.push(
      row(`${n} tokens: unchanged rescan: writes beyond the scan record`, figure(unchangedBeyond, 'writes'), {
        text: '0',
        met: unchangedBeyond.every((w) => w === 0),
      }),
    );
    rows.push(
      row(
        `${n} tokens: unchanged rescan: scan-record writes`,
        figure(
          rs.map((m) => m.writes.scanRecord),
          'writes',
        ),
      ),
    );
    const changedCount = ch.added.length + ch.used.length + ch.revoked.length;
    const changedBeyond = beyondScanRecord(c.writes);
    rows.push(
      row(
        `${n} tokens, ${fmt(changedCount)} changed: writes beyond the scan record`,
        figure([changedBeyond], 'writes'),
        { text: `<= ${fmt(2 * changedCount)} (2 x changed)`, met: changedBeyond <= 2 * changedCount },
      ),
    );
    rows.push(
      row(
        `${n} tokens, ${fmt(changedCount)} changed: all writes per changed token`,
        figure([allWrites(c.writes) / changedCount], 'writes'),
        {
          text: '<= 2',
          met: allWrites(c.writes) <= 2 * changedCount,
        },
      ),
    );
    const perToken = c.perToken ?? {};
    const writesOf = (ids: string[]) => ids.map((id) => (perToken[id]?.record ?? 0) + (perToken[id]?.audit ?? 0));
    const kinds = { new: ch.added, used: ch.used, 'revoked at Atlassian': ch.revoked } as const;
    const attributed = new Set([...ch.added, ...ch.used, ...ch.revoked]);
    const strays = Object.entries(perToken).filter(([id]) => !attributed.has(id));
    for (const [kind, ids] of Object.entries(kinds)) {
      const w = writesOf(ids);
      rows.push(
        row(`${n} tokens: writes per ${kind} token (${ids.length})`, figure(w, 'writes'), {
          text: '<= 2',
          met: w.every((v) => v <= 2),
        }),
      );
    }
    const rssTarget = (values: number[]) =>
      i === 1 ? { text: `< ${PEAK_RSS_TARGET_MB} MB`, met: median(values) < PEAK_RSS_TARGET_MB } : undefined;
    rows.push(
      row(`${n} tokens: peak RSS, first scan`, figure([f.memory.peakRssMb], 'MB'), rssTarget([f.memory.peakRssMb])),
    );
    const rsRss = rs.map((m) => m.memory.peakRssMb);
    rows.push(row(`${n} tokens: peak RSS, unchanged rescan`, figure(rsRss, 'MB'), rssTarget(rsRss)));
    rows.push(
      row(
        `${n} tokens: RSS before the scan (modules loaded)`,
        figure(
          all.map((m) => m.memory.baselineRssMb),
          'MB',
        ),
      ),
    );
    rows.push(row(`${n} tokens: peak heap, first scan`, figure([f.memory.peakHeapMb], 'MB')));
    rows.push(
      row(
        `${n} tokens: peak heap, unchanged rescan`,
        figure(
          rs.map((m) => m.memory.peakHeapMb),
          'MB',
        ),
      ),
    );
    if (!callsMatch)
      notes.push(`${n} tokens: Atlassian calls per scan ${JSON.stringify(all.map((m) => m.atlassianCalls))}.`);
    if (strays.length > 0)
      notes.push(`${n} tokens: ${strays.length} unchanged tokens were written in the changed rescan.`);
    details[String(org.size)] = {
      loadMs: round(org.loadMs, 1),
      first: summary(f),
      rescans: rs.map(summary),
      changed: { ...summary(c), added: ch.added.length, used: ch.used.length, revoked: ch.revoked.length },
      /** Per kind of change: how many tokens took how many writes (`{"2": 333}`). */
      writesByKind: Object.fromEntries(Object.entries(kinds).map(([k, ids]) => [k, histogram(writesOf(ids))])),
    };
  }
  const [small, large] = orgs.map((o) => fmt(o.size));
  const [fs, fl] = first as [Measured, Measured];
  const [rsSmall, rsLarge] = rescans as [Measured[], Measured[]];
  // Paired by round: the two sizes of one round ran back to back.
  const paired = (value: (m: Measured) => number) => rsLarge.map((m, r) => value(m) / value(rsSmall[r] as Measured));
  rows.push(
    row(
      `time ratio, unchanged rescan: ${large} / ${small}`,
      figure(
        paired((m) => m.ms),
        'x',
      ),
      {
        text: '<= 12 (linear in the listing)',
        met: median(paired((m) => m.ms)) <= 12,
      },
    ),
  );
  rows.push(
    row(`time ratio, first scan: ${large} / ${small}`, figure([fl.ms / fs.ms], 'x'), {
      text: '<= 12 (linear in the listing)',
      met: fl.ms / fs.ms <= 12,
    }),
  );
  rows.push(
    row(
      `peak RSS ratio, unchanged rescan: ${large} / ${small}`,
      figure(
        paired((m) => m.memory.peakRssMb),
        'x',
      ),
      {
        text: `<= ${FLAT_RATIO} (flat in the org size)`,
        met: median(paired((m) => m.memory.peakRssMb)) <= FLAT_RATIO,
      },
    ),
  );
  rows.push(
    row(`peak RSS ratio, first scan: ${large} / ${small}`, figure([fl.memory.peakRssMb / fs.memory.peakRssMb], 'x'), {
      text: `<= ${FLAT_RATIO} (flat in the org size)`,
      met: fl.memory.peakRssMb / fs.memory.peakRssMb <= FLAT_RATIO,
    }),
  );
  const grown = (m: Measured) => m.memory.peakRssMb - m.memory.baselineRssMb;
  rows.push(row(`RSS growth ratio (peak - before), unchanged rescan: ${large} / ${small}`, figure(paired(grown), 'x')));
  rows.push(
    row(`RSS growth ratio (peak - before), first scan: ${large} / ${small}`, figure([grown(fl) / grown(fs)], 'x')),
  );
  rows.push(
    row(
      `peak heap ratio, unchanged rescan: ${large} / ${small}`,
      figure(
        paired((m) => m.memory.peakHeapMb),
        'x',
      ),
    ),
  );
  rows.push(
    row(`peak heap ratio, first scan: ${large} / ${small}`, figure([fl.memory.peakHeapMb / fs.memory.peakHeapMb], 'x')),
  );
  notes.push(
    'Each scan runs in a fresh Node process under tsx (`scan-child.ts`); the fake Atlassian and dynalite run in the bench process, so their tokens and items do not count. Peak RSS is the `VmHWM` of the child (/proc/self/status; start-up included) — not `process.resourceUsage().maxRSS`, which on Linux carries the high-water mark of the parent across fork and exec; "before the scan" is the RSS after loading the modules, building the clients and a full GC; heap is V8\'s used heap sampled every 25 ms, garbage not yet collected included.',
    'Every scan runs at the same simulated instant as the fake, so no STALE flag or expiry changes by the clock between scans: the unchanged rescan sees exactly the same listing.',
    'The deployed function also passes each Atlassian call through the shared rate limiter (at least one conditional UpdateItem on `RATE#atlassian` per call, so a write per page); it is not wired here.',
  );
  return {
    id: 'scan',
    title: 'Personal-token scan scale (child process, fake Atlassian, dynalite)',
    rows,
    notes,
    details,
  };
}

function histogram(values: number[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const v of values) out[String(v)] = (out[String(v)] ?? 0) + 1;
  return out;
}

function summary(m: Measured) {
  return {
    ms: round(m.ms, 1),
    scan: m.scan,
    writes: m.writes,
    commands: m.commands,
    itemsRead: m.itemsRead,
    atlassianCalls: m.atlassianCalls,
    memory: Object.fromEntries(Object.entries(m.memory).map(([k, v]) => [k, typeof v === 'number' ? round(v, 1) : v])),
  };
}
