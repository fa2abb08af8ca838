/**
 * Synthesizes the CDK app in-process (the same app `cdk synth` runs) into the runtime's data folder. The result is
 * reused while the sources, the policy and the context are unchanged.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { App } from 'aws-cdk-lib';
import { addTokenWarden } from '../lib/app';

const PROJECT = resolve(__dirname, '..');
const SOURCES = ['bin', 'lib', 'functions', 'package-lock.json', 'cdk.json'];

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

export async function synthesize(opts: { outdir: string; context: Record<string, unknown> }): Promise<SynthResult> {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT, 'cdk.json'), 'utf8')) as { context?: Record<string, unknown> };
  const context = { ...(cdkJson.context ?? {}), ...opts.context };
  const stamp = fingerprint(context);
  const stampFile = join(opts.outdir, '.fingerprint');
  const manifest = join(opts.outdir, 'template-path');
  if (existsSync(stampFile) && readFileSync(stampFile, 'utf8') === stamp && existsSync(manifest)) {
    const templatePath = readFileSync(manifest, 'utf8');
    if (existsSync(templatePath)) {
      return { template: JSON.parse(readFileSync(templatePath, 'utf8')), assemblyDir: opts.outdir, context };
    }
  }
  // Relative paths in the app (policy file, entries) resolve against the project.
  const cwd = process.cwd();
  process.chdir(PROJECT);
  try {
    // Asset metadata tells which bundled folder belongs to which function (the CLI turns it on the same way).
    const app = new App({ outdir: opts.outdir, context: { ...context, 'aws:cdk:enable-asset-metadata': true } });
    const stack = addTokenWarden(app);
    const assembly = app.synth();
    const artifact = assembly.getStackByName(stack.stackName);
    writeFileSync(manifest, artifact.templateFullPath);
    writeFileSync(stampFile, stamp);
    return { template: artifact.template, assemblyDir: opts.outdir, context };
  } finally {
    process.chdir(cwd);
  }
}
