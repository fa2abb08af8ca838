/** The shipped policy as the JSON file synth bundles beside each handler (what `POLICY_FILE` names). */
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parsePolicy } from '../../functions/domain/policy-text';

export function bundledPolicyFile(): string {
  const file = join(tmpdir(), `token-warden-policy-${process.pid}.json`);
  const yaml = readFileSync(join(__dirname, '../../policy/policy.yaml'), 'utf8');
  writeFileSync(file, JSON.stringify(parsePolicy(yaml, 'policy.yaml')));
  return file;
}
