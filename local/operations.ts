/**
 * Start-up check: every AWS action a function was granted must be an operation the local endpoint emulates, so a
 * handler never meets an unsupported operation mid-flow. Actions that are authorization-only (no API call from a
 * handler: KMS through Secrets Manager, tracing, logging, role passing, and the right to invoke a rotation function
 * that `RotateSecret` asks of its caller) are exempt.
 */
const AUTHORIZATION_ONLY = new Set(['kms', 'xray', 'logs', 'iam', 'cloudwatch']);
const AUTHORIZATION_ONLY_ACTIONS = new Set(['lambda:InvokeFunction']);

/** Returns `service:Action` entries that no emulated service answers (sorted, unique). */
export function checkGrantedOperations(granted: Map<string, string[]>, supported: Record<string, string[]>): string[] {
  const missing = new Set<string>();
  for (const actions of granted.values()) {
    for (const action of actions) {
      const [service = '', operation = ''] = action.split(':');
      if (AUTHORIZATION_ONLY.has(service) || AUTHORIZATION_ONLY_ACTIONS.has(action)) continue;
      const ops = supported[service];
      const pattern = new RegExp(`^${operation.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*')}$`);
      if (!ops?.some((op) => pattern.test(op))) missing.add(action);
    }
  }
  return [...missing].sort();
}
