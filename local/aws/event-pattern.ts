/**
 * EventBridge event patterns (the documented matching rules): a pattern is a JSON object whose leaves are arrays of
 * values or comparison operators; an event matches when every field the pattern names matches (AND across fields,
 * OR within a field's array). Nested objects match nested fields (`detail.*`); when the event's field is an array,
 * it matches if any element does. Operators: exact values (strings, numbers, booleans, `null`), `prefix`, `suffix`
 * (each optionally with `equals-ignore-case`), `equals-ignore-case`, `anything-but` (a value, a list, or a
 * `prefix`/`suffix`/`wildcard`), `exists`, `numeric` (up to one lower and one upper bound, or `=`), `wildcard`,
 * `cidr`, and `$or` over sub-patterns.
 *
 * `checkEventPattern` refuses what EventBridge refuses at PutRule (a leaf that is not an array, an unknown operator),
 * so a template with an invalid pattern fails at start-up instead of silently matching nothing.
 */

export type EventPattern = Record<string, unknown>;

/** A pattern EventBridge would refuse (`InvalidEventPatternException`). */
export class InvalidEventPatternError extends Error {
  override readonly name = 'InvalidEventPatternError';
}

const OPERATORS = new Set([
  'prefix',
  'suffix',
  'equals-ignore-case',
  'anything-but',
  'exists',
  'numeric',
  'wildcard',
  'cidr',
]);

/** Throws {@link InvalidEventPatternError} when `pattern` is not a valid event pattern. */
export function checkEventPattern(pattern: unknown, path = ''): asserts pattern is EventPattern {
  if (!isObject(pattern)) throw new InvalidEventPatternError(`${path || 'pattern'}: must be a JSON object`);
  for (const [key, value] of Object.entries(pattern)) {
    const at = path ? `${path}.${key}` : key;
    if (key === '$or') {
      if (!Array.isArray(value) || value.length < 2) {
        throw new InvalidEventPatternError(`${at}: must be an array of at least two patterns`);
      }
      for (const sub of value) checkEventPattern(sub, at);
    } else if (isObject(value)) {
      checkEventPattern(value, at);
    } else if (Array.isArray(value)) {
      for (const leaf of value) checkLeaf(leaf, at);
    } else {
      throw new InvalidEventPatternError(`${at}: match value must be put inside a JSON array`);
    }
  }
}

function checkLeaf(leaf: unknown, at: string): void {
  if (!isObject(leaf)) {
    if (Array.isArray(leaf)) throw new InvalidEventPatternError(`${at}: match values cannot be nested arrays`);
    return;
  }
  const keys = Object.keys(leaf);
  if (keys.length !== 1 || !OPERATORS.has(keys[0] as string)) {
    throw new InvalidEventPatternError(`${at}: unrecognized match type ${keys.join(', ')}`);
  }
  const [operator] = keys as [string];
  const arg = leaf[operator];
  switch (operator) {
    case 'exists':
      if (typeof arg !== 'boolean')
        throw new InvalidEventPatternError(`${at}: exists match pattern must be true or false`);
      break;
    case 'numeric':
      numericBounds(arg, at);
      break;
    case 'prefix':
    case 'suffix':
      if (typeof arg !== 'string' && !(isObject(arg) && typeof arg['equals-ignore-case'] === 'string')) {
        throw new InvalidEventPatternError(`${at}: ${operator} match pattern must be a string`);
      }
      break;
    case 'equals-ignore-case':
    case 'wildcard':
    case 'cidr':
      if (typeof arg !== 'string')
        throw new InvalidEventPatternError(`${at}: ${operator} match pattern must be a string`);
      break;
    case 'anything-but':
      if (isObject(arg)) {
        const [inner] = Object.keys(arg);
        if (
          Object.keys(arg).length !== 1 ||
          !['prefix', 'suffix', 'wildcard', 'equals-ignore-case'].includes(inner ?? '')
        ) {
          throw new InvalidEventPatternError(`${at}: unsupported anything-but pattern`);
        }
      }
      break;
  }
}

/** Whether `event` (EventBridge's envelope: `source`, `detail-type`, `detail`, …) matches `pattern`. */
export function matchesEventPattern(pattern: EventPattern, event: unknown): boolean {
  return matchObject(pattern, event);
}

function matchObject(pattern: EventPattern, value: unknown): boolean {
  for (const [key, expected] of Object.entries(pattern)) {
    if (key === '$or') {
      if (!(expected as EventPattern[]).some((sub) => matchObject(sub, value))) return false;
      continue;
    }
    const present = isObject(value) && Object.hasOwn(value, key);
    const field = present ? (value as Record<string, unknown>)[key] : undefined;
    if (isObject(expected)) {
      // A nested pattern matches a nested object, or any object in an array of them.
      const candidates = Array.isArray(field) ? field : [field];
      if (!candidates.some((candidate) => isObject(candidate) && matchObject(expected, candidate))) return false;
      continue;
    }
    if (!matchLeaves(expected as unknown[], present, field)) return false;
  }
  return true;
}

/** A field matches when any of the pattern's leaves matches it (or, for an array field, any of its elements). */
function matchLeaves(leaves: unknown[], present: boolean, field: unknown): boolean {
  return leaves.some((leaf) => {
    if (isObject(leaf) && 'exists' in leaf) {
      // An empty array or an object is not a value: `exists` looks at leaf values only.
      const hasValue = present && !isObject(field) && !(Array.isArray(field) && field.length === 0);
      return leaf.exists === hasValue;
    }
    if (!present) return false;
    const values = Array.isArray(field) ? field : [field];
    if (isObject(leaf) && 'anything-but' in leaf) {
      // As for every operator, an array field matches when one of its values does.
      return values.some((v) => !isObject(v) && anythingBut(leaf['anything-but'], v));
    }
    return values.some((v) => !isObject(v) && matchLeaf(leaf, v));
  });
}

function matchLeaf(leaf: unknown, value: unknown): boolean {
  if (!isObject(leaf)) return leaf === value;
  const [operator] = Object.keys(leaf) as [string];
  const arg = leaf[operator];
  switch (operator) {
    case 'prefix':
      return typeof value === 'string' && affix(arg, value, (v, a) => v.startsWith(a));
    case 'suffix':
      return typeof value === 'string' && affix(arg, value, (v, a) => v.endsWith(a));
    case 'equals-ignore-case':
      return typeof value === 'string' && value.toLowerCase() === String(arg).toLowerCase();
    case 'wildcard':
      return typeof value === 'string' && wildcard(String(arg)).test(value);
    case 'numeric':
      return typeof value === 'number' && numericMatch(numericBounds(arg, 'numeric'), value);
    case 'cidr':
      return typeof value === 'string' && inCidr(String(arg), value);
    default:
      return false;
  }
}

function anythingBut(arg: unknown, value: unknown): boolean {
  if (Array.isArray(arg)) return !arg.some((excluded) => excluded === value);
  if (isObject(arg)) {
    if (typeof value !== 'string') return true;
    return !matchLeaf(arg, value);
  }
  return arg !== value;
}

function affix(arg: unknown, value: string, test: (value: string, arg: string) => boolean): boolean {
  if (typeof arg === 'string') return test(value, arg);
  const folded = String((arg as Record<string, unknown>)['equals-ignore-case']);
  return test(value.toLowerCase(), folded.toLowerCase());
}

function wildcard(pattern: string): RegExp {
  const source = pattern
    .split('*')
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
    .join('.*');
  return new RegExp(`^${source}$`, 's');
}

type Bound = { op: string; n: number };

function numericBounds(arg: unknown, at: string): Bound[] {
  if (!Array.isArray(arg) || arg.length === 0 || arg.length % 2 !== 0 || arg.length > 4) {
    throw new InvalidEventPatternError(`${at}: numeric match pattern must be [op, number] or [op, number, op, number]`);
  }
  const bounds: Bound[] = [];
  for (let i = 0; i < arg.length; i += 2) {
    const op = arg[i];
    const n = arg[i + 1];
    if (!['<', '<=', '=', '>', '>='].includes(String(op)) || typeof n !== 'number' || !Number.isFinite(n)) {
      throw new InvalidEventPatternError(`${at}: unrecognized numeric range ${JSON.stringify(arg)}`);
    }
    bounds.push({ op: String(op), n });
  }
  return bounds;
}

function numericMatch(bounds: Bound[], value: number): boolean {
  return bounds.every(({ op, n }) => {
    switch (op) {
      case '<':
        return value < n;
      case '<=':
        return value <= n;
      case '=':
        return value === n;
      case '>':
        return value > n;
      default:
        return value >= n;
    }
  });
}

/** IPv4 CIDR only (what the product's events could carry). */
function inCidr(cidr: string, value: string): boolean {
  const [base, bitsText] = cidr.split('/');
  const bits = Number(bitsText);
  const a = ipv4(base ?? '');
  const b = ipv4(value);
  if (a === undefined || b === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) return false;
  const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
  return (a & mask) >>> 0 === (b & mask) >>> 0;
}

function ipv4(text: string): number | undefined {
  const parts = text.split('.');
  if (parts.length !== 4 || !parts.every((p) => /^\d{1,3}$/.test(p) && Number(p) <= 255)) return undefined;
  return parts.reduce((acc, p) => ((acc << 8) | Number(p)) >>> 0, 0);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
