import { readFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { type Policy, PolicyError, validatePolicy } from '../domain/policy';

let cached: { file: string; policy: Policy } | undefined;

/**
 * The policy bundled beside the handler (`POLICY_FILE`, relative to `LAMBDA_TASK_ROOT`). It was validated at synth;
 * it is validated again here so a hand-edited bundle cannot slip through.
 */
export function loadPolicy(env: NodeJS.ProcessEnv = process.env): Policy {
  const name = env.POLICY_FILE;
  if (!name) throw new Error('invalid configuration: POLICY_FILE: required');
  const file = isAbsolute(name) ? name : join(env.LAMBDA_TASK_ROOT ?? process.cwd(), name);
  if (cached?.file !== file) {
    // The bundled policy is the JSON that synth validated; YAML (for tests pointing at the source file) is not
    // parsed here, so the YAML parser stays out of the Lambda bundles.
    let raw: unknown;
    try {
      raw = JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      throw new PolicyError([`${name}: (root): not valid JSON`]);
    }
    cached = { file, policy: validatePolicy(raw, name) };
  }
  return cached.policy;
}
