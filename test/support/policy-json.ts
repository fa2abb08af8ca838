/** The shipped policy as the JSON file synth bundles beside each handler (what `POLICY_FILE` names). */
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePolicy } from '../../functions/domain/policy-text';

export function bundledPolicyFile(): string {
  return policyFileWith({});
}

/** The shipped policy with `changes` applied (e.g. room for many pending requests of one member), as a JSON file. */
export function policyFileWith(changes: Record<string, unknown>): string {
  const suffix =
    Object.keys(changes).length === 0
      ? ''
      : `-${createHash('sha256').update(JSON.stringify(changes)).digest('hex').slice(0, 12)}`;
  const file = join(tmpdir(), `token-warden-policy-${process.pid}${suffix}.json`);
  const yaml = readFileSync(join(__dirname, '../../policy/policy.yaml'), 'utf8');
  writeFileSync(file, JSON.stringify({ ...parsePolicy(yaml, 'policy.yaml'), ...changes }));
  return file;
}
