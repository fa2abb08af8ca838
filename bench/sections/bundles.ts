/**
 * 1. Lambda bundles: minified and gzip size of every function's deployed bundle (the AWS SDK bundled, as
 * deployed), and the cold import time of the bundle in a fresh `node` process minus a bare `node` start. Where the
 * size target is missed, an esbuild metafile of the same entry attributes the bytes to packages.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type BuildOptions, build } from 'esbuild';
import { BUNDLE_ALIASES } from '../../lib/warden-function';
import { type BundledFunction, bundledFunctions } from '../lib/assembly';
import { type Row, row, type SectionResult } from '../lib/report';
import { figure, median, round, since, single } from '../lib/stats';

const PROJECT = resolve(__dirname, '..', '..');
const KB = 1024;
const SIZE_TARGET_KB = 250;
const IMPORT_TARGET_MS = 60;

export interface BundleOptions {
  assemblyDir: string;
  /** Cold starts measured per function (and as many bare starts). */
  samples: number;
  /** Also time `require()` inside the process (a cross-check free of process start-up noise). */
  inProcess: boolean;
  /** Attribute the bytes of every oversized bundle (else only of the largest). */
  attributeAll: boolean;
  log: (line: string) => void;
}

/** Runs `node -e <code>` with `env` in `cwd`; resolves with the wall time and the output. */
function runNode(
  code: string,
  env: NodeJS.ProcessEnv,
  cwd: string,
): Promise<{ ms: number; code: number | null; out: string }> {
  return new Promise((done) => {
    const started = performance.now();
    const child = spawn(process.execPath, ['-e', code], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.on('close', (exit) => done({ ms: since(started), code: exit, out }));
  });
}

/** The environment a deployed function starts with (its template environment plus what Lambda sets). */
function lambdaEnv(fn: BundledFunction): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '',
    ...fn.env,
    LAMBDA_TASK_ROOT: fn.assetDir,
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_LAMBDA_FUNCTION_NAME: fn.logicalId,
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(fn.memoryMb),
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    // Lambda runs Node 22; this machine may run 20, where the SDK would print a support notice at load.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

interface Attribution {
  totalBytes: number;
  packages: { name: string; bytes: number; share: number }[];
}

/**
 * esbuild options of the deployed bundles (minified CJS, ESM entries first), with their stand-ins (environment-only
 * credentials, no event-stream codecs) as aliases.
 */
const BUNDLE_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'cjs',
  minify: true,
  target: 'node22',
  mainFields: ['module', 'main'],
  logLevel: 'silent',
  absWorkingDir: PROJECT,
  alias: Object.fromEntries(Object.entries(BUNDLE_ALIASES).map(([name, path]) => [name, `./${path}`])),
} satisfies BuildOptions;

/** Bytes of the minified output per package (node_modules/<pkg> or `project`), from an esbuild metafile. */
async function attribute(entry: string): Promise<Attribution> {
  const result = await build({
    ...BUNDLE_OPTIONS,
    entryPoints: [join(PROJECT, entry)],
    metafile: true,
    write: false,
    outfile: 'out.js',
  });
  const output = Object.values(result.metafile.outputs).find((o) => o.entryPoint !== undefined);
  const byPackage = new Map<string, number>();
  for (const [path, input] of Object.entries(output?.inputs ?? {})) {
    const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
    const name = m?.[1] ?? 'project code';
    byPackage.set(name, (byPackage.get(name) ?? 0) + input.bytesInOutput);
  }
  const totalBytes = output?.bytes ?? 0;
  const packages = [...byPackage.entries()]
    .map(([name, bytes]) => ({ name, bytes, share: totalBytes ? bytes / totalBytes : 0 }))
    .sort((a, b) => b.bytes - a.bytes);
  return { totalBytes, packages };
}

/** Groups package names into families (all `@aws-sdk/*` + `@smithy/*` are "AWS SDK v3"). */
function family(name: string): string {
  if (name.startsWith('@aws-sdk/') || name.startsWith('@smithy/') || name.startsWith('@aws-crypto/'))
    return 'AWS SDK v3 (@aws-sdk, @smithy, @aws-crypto)';
  if (name.startsWith('@aws-lambda-powertools/')) return 'Powertools';
  return name;
}

/** Cold starts of `node` loading `file`, interleaved with bare starts; `added` pairs each with the bare start before it. */
async function coldImport(file: string, env: NodeJS.ProcessEnv, cwd: string, opts: BundleOptions) {
  const load = `require(${JSON.stringify(file)})`;
  const timed = `const t=performance.now();require(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t))`;
  const bare: number[] = [];
  const loaded: number[] = [];
  const required: number[] = [];
  for (let i = 0; i < opts.samples; i++) {
    bare.push((await runNode('', env, cwd)).ms);
    loaded.push((await runNode(load, env, cwd)).ms);
    if (opts.inProcess) {
      const ms = Number((await runNode(timed, env, cwd)).out);
      if (Number.isFinite(ms)) required.push(ms);
    }
  }
  const added = figure(
    loaded.map((ms, i) => ms - (bare[i] ?? 0)),
    'ms',
  );
  return {
    added,
    details: {
      bareNodeStartMs: figure(bare, 'ms'),
      nodeStartWithBundleMs: figure(loaded, 'ms'),
      ...(required.length ? { requireInProcessMs: figure(required, 'ms') } : {}),
    },
  };
}

/** A bundle of one DynamoDB client and nothing else, built like the handlers (minified, CJS, ESM entries first, same aliases). */
async function sdkFloor(): Promise<{ file: string; dir: string; bytes: number }> {
  const dir = mkdtempSync(join(tmpdir(), 'token-warden-bench-floor-'));
  const file = join(dir, 'index.js');
  await build({
    stdin: {
      contents:
        "import { DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';\n" +
        'const client = new DynamoDBClient({});\n' +
        'export const handler = (event) => client.send(new GetItemCommand(event));\n',
      resolveDir: PROJECT,
      loader: 'js',
    },
    ...BUNDLE_OPTIONS,
    outfile: file,
  });
  return { file, dir, bytes: statSync(file).size };
}

export async function runBundles(opts: BundleOptions): Promise<SectionResult> {
  const functions = bundledFunctions(opts.assemblyDir).sort((a, b) => a.shortName.localeCompare(b.shortName));
  const rows: Row[] = [];
  const notes: string[] = [];
  const details: Record<string, unknown> = {};
  const overSize: string[] = [];
  const overImport: string[] = [];

  // Sizes first (cheap).
  for (const fn of functions) {
    const bytes = statSync(fn.bundle).size;
    const gz = gzipSync(readFileSync(fn.bundle)).length;
    const kb = bytes / KB;
    rows.push(
      row(`${fn.shortName} bundle (minified)`, single(round(kb, 1), 'KB'), {
        text: `<= ${SIZE_TARGET_KB} KB`,
        met: kb <= SIZE_TARGET_KB,
      }),
    );
    rows.push(row(`${fn.shortName} bundle (gzip)`, single(round(gz / KB, 1), 'KB')));
    if (kb > SIZE_TARGET_KB) overSize.push(fn.shortName);
    details[fn.shortName] = {
      bundleBytes: bytes,
      gzipBytes: gz,
      memoryMb: fn.memoryMb,
      entry: fn.entry,
      asset: fn.assetDir,
    };
  }

  // Cold imports: bare and bundle starts interleaved, so drift in machine load hits both alike.
  for (const fn of functions) {
    const env = lambdaEnv(fn);
    const load = `require(${JSON.stringify(fn.bundle)})`;
    const check = await runNode(load, env, fn.assetDir);
    if (check.code !== 0) {
      notes.push(`${fn.shortName}: loading the bundle failed (exit ${check.code}): ${check.out.slice(0, 300)}`);
      continue;
    }
    const m = await coldImport(fn.bundle, env, fn.assetDir, opts);
    rows.push(
      row(`${fn.shortName} cold import (added)`, m.added, {
        text: `<= ${IMPORT_TARGET_MS} ms`,
        met: m.added.median <= IMPORT_TARGET_MS,
      }),
    );
    if (m.added.median > IMPORT_TARGET_MS) overImport.push(fn.shortName);
    Object.assign(details[fn.shortName] as object, m.details);
    opts.log(`  ${fn.shortName}: +${round(m.added.median, 1)} ms over a bare node start`);
  }

  // Baseline in the same run: a bundle holding nothing but one DynamoDB client (what every handler needs at least),
  // built with the same esbuild options, loaded the same way.
  const floor = await sdkFloor();
  const probe = functions.find((f) => f.shortName === 'BeginRotation') ?? functions[0];
  if (probe) {
    rows.push(row('baseline: DynamoDB client alone (minified)', single(round(floor.bytes / KB, 1), 'KB')));
    const m = await coldImport(floor.file, lambdaEnv(probe), floor.dir, opts);
    rows.push(row('baseline: DynamoDB client alone, cold import (added)', m.added));
    details.baselineDynamoDbClientAlone = { bytes: floor.bytes, ...m.details };
  }

  // Why the size target is missed: the bytes by package of each oversized bundle's entry.
  if (overSize.length > 0) {
    const families = new Map<string, number[]>();
    const perFunction: Record<string, unknown> = {};
    const oversized = functions
      .filter((f) => overSize.includes(f.shortName) && f.entry)
      .sort((a, b) => statSync(b.bundle).size - statSync(a.bundle).size)
      .slice(0, opts.attributeAll ? undefined : 1);
    for (const fn of oversized) {
      const a = await attribute(fn.entry as string);
      perFunction[fn.shortName] = {
        esbuildBytes: a.totalBytes,
        top: a.packages.slice(0, 8).map((p) => ({ ...p, share: round(p.share, 3) })),
      };
      const byFamily = new Map<string, number>();
      for (const p of a.packages) byFamily.set(family(p.name), (byFamily.get(family(p.name)) ?? 0) + p.bytes);
      for (const [name, bytes] of byFamily) families.set(name, [...(families.get(name) ?? []), bytes / KB]);
    }
    const ranked = [...families.entries()]
      .map(([name, kbs]) => ({ name, medianKb: round(median(kbs), 1), maxKb: round(Math.max(...kbs), 1) }))
      .sort((a, b) => b.medianKb - a.medianKb);
    details.attribution = { perFunction, byFamily: ranked };
    notes.push(
      `Size target missed by ${overSize.length} of ${functions.length} bundles. Bytes by package family (${oversized.length === 1 ? `the largest bundle, ${oversized[0]?.shortName}` : `median over the ${oversized.length} oversized bundles`}; esbuild metafile of the same entry and options): ${ranked
        .slice(0, 6)
        .map((r) => `${r.name} ${r.medianKb} KB`)
        .join(', ')}.`,
    );
  }
  if (overImport.length > 0) notes.push(`Import target missed by: ${overImport.join(', ')}.`);
  notes.push(
    'Cold import = wall time of `node -e require(bundle)` minus `node -e ""`, same environment (the function\'s own, incl. NODE_OPTIONS=--enable-source-maps), samples interleaved; this machine runs Node ' +
      `${process.version} on x86-64, Lambda runs Node 22 on arm64 (Graviton), so absolute times differ; sizes are exact.`,
  );
  return { id: 'bundles', title: 'Lambda bundles', rows, notes, details };
}
