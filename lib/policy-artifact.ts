import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Policy } from '../functions/domain/policy';

/**
 * Writes the validated policy (defaults applied, emails lower-cased) as JSON to a content-addressed file and
 * returns its path. Bundling copies it beside each handler as `policy.json` (so it is part of each asset's hash);
 * the name follows the content so concurrent synths of different policies never overwrite each other's file.
 */
export function writePolicyArtifact(policy: Policy, dir: string = join(tmpdir(), 'token-warden-policy')): string {
  const text = `${JSON.stringify(policy, null, 2)}\n`;
  const digest = createHash('sha256').update(text).digest('hex').slice(0, 16);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `policy-${digest}.json`);
  writeFileSync(file, text);
  return file;
}
