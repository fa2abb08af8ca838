/**
 * Reads a synthesized cloud assembly (the runtime's `<data-dir>/cdk.out`, or `cdk synth -o <dir>`): the stack
 * template and, for every Lambda function, its bundled asset (`Metadata['aws:asset:path']` → `index.js`), its
 * memory and its environment resolved the way the local runtime resolves it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CloudFormationTemplate } from '../../lib/synth/resolve-template';
import { readTemplate } from '../../local/template';

export interface BundledFunction {
  logicalId: string;
  /** `TokenRequests` for `FunctionsTokenRequestsFunctionB6B359A2`. */
  shortName: string;
  assetDir: string;
  bundle: string;
  memoryMb: number;
  env: Record<string, string>;
  /** The handler's source entry (from the bundle's source map), relative to the project. */
  entry?: string;
}

/** The stack template of an assembly directory. */
export function templateOf(assemblyDir: string): CloudFormationTemplate {
  const pointer = join(assemblyDir, 'template-path');
  let path = existsSync(pointer) ? readFileSync(pointer, 'utf8').trim() : '';
  if (!path || !existsSync(path)) {
    const found = readdirSync(assemblyDir).find((f) => f.endsWith('.template.json'));
    if (!found) throw new Error(`no *.template.json in ${assemblyDir}`);
    path = join(assemblyDir, found);
  }
  return JSON.parse(readFileSync(path, 'utf8')) as CloudFormationTemplate;
}

export function shortNameOf(logicalId: string): string {
  return logicalId.replace(/^Functions/, '').replace(/Function[0-9A-F]{8}$/, '');
}

/** The first project source under `functions/api`, `functions/workflow` or `functions/events` named in the bundle's source map. */
function entryOf(bundle: string): string | undefined {
  const map = `${bundle}.map`;
  if (!existsSync(map)) return undefined;
  const sources = (JSON.parse(readFileSync(map, 'utf8')) as { sources?: string[] }).sources ?? [];
  const hit = sources.find((s) => /(^|\/)functions\/(api|workflow|events)\/[^/]+\.ts$/.test(s));
  const m = hit ? /(functions\/(api|workflow|events)\/[^/]+\.ts)$/.exec(hit) : null;
  return m?.[1];
}

export function bundledFunctions(assemblyDir: string): BundledFunction[] {
  const template = templateOf(assemblyDir);
  const model = readTemplate({ template, assemblyDir, overrides: {} });
  return model.functions.map((fn) => {
    const bundle = join(fn.assetDir, 'index.js');
    const entry = entryOf(bundle);
    return {
      logicalId: fn.logicalId,
      shortName: shortNameOf(fn.logicalId),
      assetDir: fn.assetDir,
      bundle,
      memoryMb: fn.memoryMb,
      env: fn.env,
      ...(entry ? { entry } : {}),
    };
  });
}
