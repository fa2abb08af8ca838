/**
 * Global setup of the e2e project: synthesizes the CDK app once per test run into the assembly cache, and points
 * every runtime the tests start at that cache (`TW_ASSEMBLY_CACHE`, read by `LocalRuntime.start`), so each of
 * them reuses the synthesis instead of repeating it. A test that starts a runtime with another policy gets its
 * own assembly, synthesized into the same cache (keyed by the policy file's content) when that runtime starts.
 */
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { appContext, cachedAssembly } from '../../local/synth';

const CACHE = resolve(__dirname, '..', '..', 'node_modules', '.cache', 'token-warden', 'assemblies');
/** Assemblies kept from earlier runs (other policies, other sources), most recently used first. */
const KEEP = 4;
/** An assembly used this recently stays: another test run may be reading it. */
const IN_USE_MS = 60 * 60 * 1000;

/** The URL context keys `startRuntime` synthesizes with (local/runtime.ts); their values are swapped per runtime. */
const RUNTIME_URLS = {
  jwtIssuer: 'http://127.0.0.1:3000/local/oidc',
  approvalBaseUrl: 'http://127.0.0.1:3000',
  atlassianApiBaseUrl: 'http://127.0.0.1:4610',
  atlassianSiteBaseUrl: 'http://127.0.0.1:4610',
};

function prune(keep: string): void {
  const entries = readdirSync(CACHE)
    .map((name) => join(CACHE, name))
    .filter((path) => path !== keep)
    .map((path) => ({ path, used: statSync(path, { throwIfNoEntry: false })?.mtimeMs ?? Date.now() }))
    .sort((a, b) => b.used - a.used);
  for (const { path, used } of entries.slice(KEEP - 1)) {
    if (Date.now() - used > IN_USE_MS) rmSync(path, { recursive: true, force: true });
  }
}

export default function synthesizeOnce(): void {
  process.env.TW_ASSEMBLY_CACHE ??= CACHE;
  const cache = process.env.TW_ASSEMBLY_CACHE;
  // On a cache miss the bundler's lines follow.
  process.stderr.write(`\ne2e: the CDK app for every runtime, from ${cache}\n`);
  const assembly = cachedAssembly(cache, appContext(RUNTIME_URLS));
  if (!assembly) throw new Error('the runtime context cannot share a synthesized assembly');
  if (cache === CACHE) prune(assembly.assemblyDir);
}
