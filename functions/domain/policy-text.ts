import { parse as parseYaml } from 'yaml';
import { type Policy, PolicyError, printable, validatePolicy } from './policy';

/**
 * Parses and validates policy text (YAML or JSON — JSON is YAML). Throws `PolicyError`. YAML aliases are refused
 * (no entity expansion), and so are duplicate keys.
 */
export function parsePolicy(text: string, file: string): Policy {
  let raw: unknown;
  try {
    raw = parseYaml(text, { maxAliasCount: 0, uniqueKeys: true, logLevel: 'error' });
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
    throw new PolicyError([printable(`${file}: (root): not valid YAML or JSON: ${message}`)]);
  }
  return validatePolicy(raw, file);
}
