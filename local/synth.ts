/**
 * Synthesizes the CDK app in-process (the same app `cdk synth` runs) into the runtime's data folder. The result is
 * reused while the sources, the policy and the context are unchanged.
 *
 * An assembly cache (`TW_ASSEMBLY_CACHE`, set by `--assembly-cache`) lets several runtimes share one synthesis: its
 * assemblies are synthesized with placeholder origins for the URLs a runtime derives from its ports, keyed by the
 * sources, the policy file's content and the rest of the context, and each runtime swaps in its own URLs when it
 * reads the template. The test suite fills the cache once per run; `npm start` without it synthesizes as before.
 */
import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { addTokenWarden } from '../lib/app';

const PROJECT = resolve(__dirname, '..');
// `console` is built into the assets function's bundle: a change to it re-synthesizes.
const SOURCES = ['bin', 'lib', 'functions', 'console', 'package-lock.json', 'cdk.json'];

export interface SynthResult {
  template: unknown;
  assemblyDir: string;
  /** The context the app was synthesized with (cdk.json's, then the runtime's). */
  context: Record<string, unknown>;
}

function files(path: string): string[] {
  if (!existsSync(path)) return [];
  if (statSync(path).isFile()) return [path];
  return readdirSync(path)
    .sort()
    .flatMap((entry) => files(join(path, entry)));
}

function fingerprint(context: Record<string, unknown>): string {
  const hash = createHash('sha256').update(JSON.stringify(context));
  const policy = typeof context.policy === 'string' ? [resolve(PROJECT, context.policy)] : [];
  for (const file of [...SOURCES.flatMap((s) => files(join(PROJECT, s))), ...policy]) {
    hash.update(relative(PROJECT, file)).update(readFileSync(file));
  }
  return hash.digest('hex');
}

/** A digest of the sources the app is built from. */
export function sourcesDigest(): string {
  const hash = createHash('sha256');
  for (const file of SOURCES.flatMap((s) => files(join(PROJECT, s)))) {
    hash.update(relative(PROJECT, file)).update(readFileSync(file));
  }
  return hash.digest('hex');
}

/** Context keys holding URLs that a runtime derives from its own ports; a cached assembly holds placeholders. */
export const PORTABLE_URL_KEYS = [
  'jwtIssuer',
  'signInIssuer',
  'approvalBaseUrl',
  'atlassianApiBaseUrl',
  'atlassianSiteBaseUrl',
];

/** The placeholder origin an assembly in the cache carries for `key` (a reserved `.invalid` host per key). */
export function placeholderFor(key: string): string {
  return `http://${key.toLowerCase()}.assembly.token-warden.invalid`;
}

/**
 * The context a cached assembly is synthesized with, and the substitutions that turn its template into the one
 * `context` itself would give; `undefined` when a URL could not be substituted exactly (a trailing slash, which
 * the app normalizes).
 */
export function portableContext(
  context: Record<string, unknown>,
): { context: Record<string, unknown>; substitutions: [string, string][] } | undefined {
  const portable = { ...context };
  const substitutions: [string, string][] = [];
  for (const key of PORTABLE_URL_KEYS) {
    const value = context[key];
    if (value === undefined) continue;
    if (typeof value !== 'string' || value === '' || value.endsWith('/')) return undefined;
    portable[key] = placeholderFor(key);
    substitutions.push([placeholderFor(key), value]);
  }
  return { context: portable, substitutions };
}

/** The template with every placeholder origin replaced by its runtime's URL. */
export function substituteUrls<T>(template: T, substitutions: [string, string][]): T {
  let text = JSON.stringify(template);
  for (const [placeholder, value] of substitutions) {
    // The value goes inside JSON strings: escape it as JSON does, without the quotes.
    text = text.split(placeholder).join(JSON.stringify(value).slice(1, -1));
  }
  return JSON.parse(text) as T;
}

/**
 * The cache key of a portable context: the sources, the policy file's content (not its path) and the rest of
 * the context.
 */
export function assemblyKey(portable: Record<string, unknown>, sources: string = sourcesDigest()): string {
  const { policy, ...rest } = portable;
  const policyText = typeof policy === 'string' ? readFileSync(resolve(PROJECT, policy)) : Buffer.alloc(0);
  return createHash('sha256')
    .update(JSON.stringify(rest))
    .update(createHash('sha256').update(policyText).digest('hex'))
    .update(sources)
    .digest('hex')
    .slice(0, 32);
}

function readAssembly(dir: string): unknown | undefined {
  const manifest = join(dir, 'template-path');
  if (!existsSync(manifest)) return undefined;
  const templatePath = join(dir, readFileSync(manifest, 'utf8'));
  return existsSync(templatePath) ? JSON.parse(readFileSync(templatePath, 'utf8')) : undefined;
}

/** Synthesizes `context` into `outdir`; returns the stack's template and its path. */
function synthInto(outdir: string, context: Record<string, unknown>): { template: unknown; templatePath: string } {
  // Relative paths in the app (policy file, entries) resolve against the project.
  const cwd = process.cwd();
  process.chdir(PROJECT);
  try {
    // Asset metadata tells which bundled folder belongs to which function (the CLI turns it on the same way).
    const app = new App({ outdir, context: { ...context, 'aws:cdk:enable-asset-metadata': true } });
    const stack = addTokenWarden(app);
    const assembly = app.synth();
    const artifact = assembly.getStackByName(stack.stackName);
    return { template: artifact.template, templatePath: artifact.templateFullPath };
  } finally {
    process.chdir(cwd);
  }
}

/**
 * The assembly in `cacheDir` for `context` (cdk.json's context already merged), synthesized into the cache first
 * when there is none yet; `undefined` when the context cannot share one.
 */
export function cachedAssembly(
  cacheDir: string,
  context: Record<string, unknown>,
): { template: unknown; assemblyDir: string } | undefined {
  const portable = portableContext(context);
  if (!portable) return undefined;
  const dir = resolve(cacheDir, assemblyKey(portable.context));
  let template = readAssembly(dir);
  if (template === undefined) {
    // Synthesize beside it and move it in whole, so a runtime never reads a half-written assembly.
    mkdirSync(cacheDir, { recursive: true });
    const building = `${dir}.${process.pid}.${Date.now()}`;
    const built = synthInto(building, portable.context);
    writeFileSync(join(building, 'template-path'), relative(building, built.templatePath));
    try {
      renameSync(building, dir);
    } catch {
      // Another runtime moved the same assembly in first: use that one.
      rmSync(building, { recursive: true, force: true });
    }
    template = readAssembly(dir);
    if (template === undefined) throw new Error(`no assembly in ${dir} after synthesizing it`);
  }
  // Its modification time tells when it was last used (the test setup prunes the cache by it).
  try {
    const now = new Date();
    utimesSync(dir, now, now);
  } catch {
    // only bookkeeping
  }
  return { template: substituteUrls(template, portable.substitutions), assemblyDir: dir };
}

/** The app's context for the runtime's own context: cdk.json's, then `overrides`. */
export function appContext(overrides: Record<string, unknown>): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  return { ...(cdkJson.context ?? {}), ...overrides };
}

export async function synthesize(opts: { outdir: string; context: Record<string, unknown> }): Promise<SynthResult> {
  const context = appContext(opts.context);
  const cacheDir = process.env.TW_ASSEMBLY_CACHE;
  const cached = cacheDir ? cachedAssembly(cacheDir, context) : undefined;
  if (cached) return { ...cached, context };
  const stamp = fingerprint(context);
  const stampFile = join(opts.outdir, '.fingerprint');
  const manifest = join(opts.outdir, 'template-path');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && existsSync(manifest)) {
    const templatePath = readFileSync(manifest, 'utf8');
    if (existsSync(templatePath)) {
      return { template: JSON.parse(readFileSync(templatePath, 'utf8')), assemblyDir: opts.outdir, context };
    }
  }
  const built = synthInto(opts.outdir, context);
  writeFileSync(manifest, built.templatePath);
  writeFileSync(stampFile, stamp);
  return { template: built.template, assemblyDir: opts.outdir, context };
}
