/**
 * `npm run bench` — Token Warden's benchmark. Measures, on this machine and beside a baseline in the same run:
 * Lambda bundle size and cold import, the workflow's machine time, cost per token-year on AWS, a burst of rotations
 * under Atlassian's rate limit, the daily sweep's scaling, the personal-token scan's scaling, API latency, and the web
 * console's transfer size and first signed-in render, and the notifier's delivery from event to sink. Prints
 * one table and writes bench/results.json (or `--out`). Targets and the latest figures: BENCHMARKS.md; how each
 * section measures: bench/README.md.
 *
 * Flags: `--quick` (smaller sizes, one runtime: a smoke run of about two minutes); `--only=a,b` / `--skip=a,b`
 * (sections: bundles, workflow, cost, burst, sweep, scan, api, console, notifier); `--burst-count=N`,
 * `--burst-rate=N` (Atlassian requests per second); `--import-samples=N`; `--import-in-process` (also time
 * `require()` inside the process);
 * `--out=FILE` or `--out FILE` (write the results there instead of bench/results.json). A value may follow its flag
 * after `=` or as the next argument.
 */
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

import { writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { LocalRuntime } from '../local/driver';
import { bundledFunctions } from './lib/assembly';
import { type AwsClients, awsClients } from './lib/local';
import { machineFacts } from './lib/machine';
import { renderTable, rowJson, type SectionResult } from './lib/report';
import { round } from './lib/stats';
import { runApi } from './sections/api';
import { runBundles } from './sections/bundles';
import { runBurst } from './sections/burst';
import { runConsole } from './sections/console';
import { runCost } from './sections/cost';
import { runNotifier } from './sections/notifier';
import { runScanScale } from './sections/scan';
import { runSweep } from './sections/sweep';
import { runWorkflow } from './sections/workflow';

const SECTIONS = ['bundles', 'workflow', 'cost', 'burst', 'sweep', 'scan', 'api', 'console', 'notifier'] as const;
type SectionId = (typeof SECTIONS)[number];

const args = process.argv.slice(2);

/** The value of `--name=value` or `--name value`; `''` for a bare `--name`; `undefined` when absent. */
function flag(name: string): string | undefined {
  const at = args.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (at < 0) return undefined;
  const hit = args[at] ?? '';
  if (hit.includes('=')) return hit.slice(hit.indexOf('=') + 1);
  const next = args[at + 1];
  return next !== undefined && !next.startsWith('--') ? next : '';
}

function list(value: string | undefined): SectionId[] | undefined {
  if (value === undefined) return undefined;
  const ids = value.split(',').filter(Boolean);
  for (const id of ids)
    if (!(SECTIONS as readonly string[]).includes(id))
      throw new Error(`unknown section ${id} (${SECTIONS.join(', ')})`);
  return ids as SectionId[];
}

function positive(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`expected a positive number, got ${value}`);
  return n;
}

const quick = flag('quick') !== undefined;
const settings = {
  mode: quick ? 'quick' : 'full',
  bundleSamples: positive(flag('import-samples'), quick ? 3 : 10),
  workflowSamples: quick ? 5 : 20,
  burstCount: positive(flag('burst-count'), quick ? 40 : 1000),
  burstPerSecond: positive(flag('burst-rate'), 10),
  burstTimeoutMs: quick ? 90_000 : 900_000,
  sweepSmall: quick ? 1_000 : 10_000,
  sweepLarge: quick ? 10_000 : 100_000,
  sweepDueShare: 0.01,
  sweepRepeats: 5,
  scanSmall: quick ? 1_000 : 10_000,
  scanLarge: quick ? 10_000 : 100_000,
  scanChangedShare: 0.01,
  scanRescans: quick ? 2 : 3,
  scanTimeoutMs: quick ? 120_000 : 900_000,
  apiRequests: quick ? 200 : 2000,
  apiConcurrency: 20,
  consoleRuns: quick ? 5 : 20,
  notifierSamples: quick ? 5 : 20,
};

const log = (line: string) => process.stderr.write(`${line}\n`);

async function section(id: SectionId, title: string, run: () => Promise<SectionResult>): Promise<SectionResult> {
  log(`\n== ${id}: ${title}`);
  const started = performance.now();
  try {
    const result = await run();
    result.elapsedMs = performance.now() - started;
    log(`== ${id} done in ${round(result.elapsedMs / 1000, 1)} s`);
    return result;
  } catch (error) {
    const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
    log(`== ${id} FAILED: ${message}`);
    return { id, title, rows: [], notes: [], error: message, elapsedMs: performance.now() - started };
  }
}

/**
 * Starts a local runtime through the e2e harness, runs `body`, and always disposes of it. `alongside` runs while the
 * runtime starts (quick mode overlaps the in-process sweep with the synthesis).
 */
async function withRuntime(
  label: string,
  body: (rt: LocalRuntime, aws: AwsClients, assemblyDir: string) => Promise<void>,
  alongside?: () => Promise<void>,
): Promise<void> {
  log('\nstarting a local runtime (synthesizes the CDK app) ...');
  const t = performance.now();
  const starting = LocalRuntime.start(label);
  // Observed now, awaited below: a failed start must not surface as an unhandled rejection meanwhile.
  starting.catch(() => undefined);
  if (alongside) await alongside();
  const rt = await starting;
  log(`runtime up in ${round((performance.now() - t) / 1000, 1)} s (data dir ${rt.dataDir})`);
  const aws = await awsClients(rt);
  try {
    await body(rt, aws, join(rt.dataDir, 'cdk.out'));
  } finally {
    aws.destroy();
    await rt.dispose().catch((error: unknown) => log(`stopping the runtime: ${String(error)}`));
  }
}

async function main(): Promise<number> {
  // Checked before anything runs: a full run takes minutes, and a bare --out must not overwrite bench/results.json.
  if (flag('out') === '') throw new Error('--out needs a file name (--out=FILE or --out FILE)');
  const only = list(flag('only'));
  const skip = list(flag('skip')) ?? [];
  const wanted = (id: SectionId) => (only ? only.includes(id) : true) && !skip.includes(id);
  const started = new Date();
  const machine = machineFacts();
  log(
    `Token Warden benchmark (${settings.mode}) on ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGb} GB, Node ${machine.node}`,
  );
  const results: SectionResult[] = [];

  const guarded = async (what: string, run: () => Promise<void>): Promise<void> => {
    try {
      await run();
    } catch (error) {
      const message = error instanceof Error ? (error.stack ?? error.message) : String(error);
      log(`== the local runtime for ${what} failed: ${message}`);
      results.push({ id: 'runtime', title: `local runtime for ${what}`, rows: [], notes: [], error: message });
    }
  };
  const sweepSection = async () => {
    if (!wanted('sweep')) return;
    results.push(
      await section('sweep', 'daily sweep over stored tokens', () =>
        runSweep({
          small: settings.sweepSmall,
          large: settings.sweepLarge,
          dueShare: settings.sweepDueShare,
          repeats: settings.sweepRepeats,
          log,
        }),
      ),
    );
  };
  const scanSection = async () => {
    if (!wanted('scan')) return;
    results.push(
      await section('scan', 'personal-token scan scale', () =>
        runScanScale({
          small: settings.scanSmall,
          large: settings.scanLarge,
          changedShare: settings.scanChangedShare,
          rescans: settings.scanRescans,
          timeoutMs: settings.scanTimeoutMs,
          log,
        }),
      ),
    );
  };
  /** The sections that need no local runtime: the sweep in-process, the scan in child processes of its own. */
  const inProcessSections = async () => {
    await sweepSection();
    await scanSection();
  };
  const burstSection = async (rt: LocalRuntime, aws: AwsClients, assemblyDir: string) => {
    results.push(
      await section('burst', 'burst of rotations under the rate limit', () =>
        runBurst({
          rt,
          aws,
          functions: bundledFunctions(assemblyDir),
          count: settings.burstCount,
          perSecond: settings.burstPerSecond,
          timeoutMs: settings.burstTimeoutMs,
          pollMs: quick ? 500 : 2000,
          log,
        }),
      ),
    );
  };
  /**
   * bundles (from this runtime's cdk.out), workflow, cost, the console, the notifier, [burst], then API latency (it
   * leaves thousands of pending requests, and their events would queue ahead of the notifier's samples).
   */
  const runtimeSections = (withBurst: boolean) => async (rt: LocalRuntime, aws: AwsClients, assemblyDir: string) => {
    if (wanted('bundles')) {
      results.push(
        await section('bundles', 'Lambda bundles', () =>
          runBundles({
            assemblyDir,
            samples: settings.bundleSamples,
            inProcess: flag('import-in-process') !== undefined,
            attributeAll: !quick,
            log,
          }),
        ),
      );
    }
    if (wanted('workflow')) {
      results.push(
        await section('workflow', 'machine time of the workflow', () =>
          runWorkflow({ rt, aws, samples: settings.workflowSamples, log }),
        ),
      );
    }
    if (wanted('cost')) results.push(await section('cost', 'cost per token-year', () => runCost({ rt, aws, log })));
    if (wanted('console')) {
      results.push(
        await section('console', 'web console: size and first signed-in render', () =>
          runConsole({ rt, runs: settings.consoleRuns, log }),
        ),
      );
    }
    if (wanted('notifier')) {
      results.push(
        await section('notifier', 'notifier: event to sink', () =>
          runNotifier({ rt, samples: settings.notifierSamples, log }),
        ),
      );
    }
    if (withBurst && wanted('burst')) await burstSection(rt, aws, assemblyDir);
    if (wanted('api')) {
      results.push(
        await section('api', 'API latency', () =>
          runApi({
            rt,
            requests: settings.apiRequests,
            concurrency: settings.apiConcurrency,
            sequential: quick ? 10 : 50,
            log,
          }),
        ),
      );
    }
  };
  const needsRuntime = (['bundles', 'workflow', 'cost', 'burst', 'api', 'console', 'notifier'] as const).some(wanted);

  if (quick) {
    // One runtime for everything; the in-process sections run while it starts (a smoke run, under two minutes).
    if (needsRuntime)
      await guarded('all sections', () => withRuntime('bench', runtimeSections(true), inProcessSections));
    else await inProcessSections();
  } else {
    // The sweep and the scan first, on a quiet machine; then runtime A; then the burst on a fresh runtime B, so neither
    // it nor the API load runs on the other's leftovers (the local emulators slow down as their stores grow).
    await inProcessSections();
    if ((['bundles', 'workflow', 'cost', 'api', 'console', 'notifier'] as const).some(wanted)) {
      await guarded('bundles/workflow/cost/console/notifier/api', () => withRuntime('bench', runtimeSections(false)));
    }
    if (wanted('burst')) await guarded('burst', () => withRuntime('bench-burst', burstSection));
  }

  const order = new Map(SECTIONS.map((id, i) => [id, i]));
  results.sort((a, b) => (order.get(a.id as SectionId) ?? 0) - (order.get(b.id as SectionId) ?? 0));
  const finished = new Date();
  const out = flag('out');
  const file = out ? resolve(out) : join(__dirname, 'results.json');
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        machine,
        settings,
        args,
        startedAt: started.toISOString(),
        finishedAt: finished.toISOString(),
        wallSeconds: round((finished.getTime() - started.getTime()) / 1000, 1),
        sections: results.map((s) => ({
          id: s.id,
          title: s.title,
          elapsedSeconds: round((s.elapsedMs ?? 0) / 1000, 1),
          ...(s.error ? { error: s.error } : {}),
          figures: s.rows.map(rowJson),
          notes: s.notes,
          details: s.details,
        })),
      },
      null,
      2,
    )}\n`,
  );

  process.stdout.write(`\n${renderTable(results)}\n\n`);
  for (const s of results) for (const note of s.notes) process.stdout.write(`[${s.id}] ${note}\n`);
  process.stdout.write(
    `\n${settings.mode} run, ${round((finished.getTime() - started.getTime()) / 1000, 1)} s on ${machine.cpuModel} (${machine.cores} cores); results: ${file}\n`,
  );
  return results.some((s) => s.error) ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    log(error instanceof Error ? (error.stack ?? error.message) : String(error));
    process.exit(1);
  },
);
