/**
 * Request parsing and validation, in AWS's shapes: malformed JSON or a wrong JSON type is a
 * `SerializationException`; constraint violations are collected into one `ValidationException`, as AWS reports
 * them ("2 validation errors detected: Value 'x' at 'name' failed to satisfy constraint: ...").
 */
import { AwsError } from '../protocol';
import type { Tag } from './store';

/** A request body, as the JSON object it must be. */
export type Body = Record<string, unknown>;

const FILTER_VALUE_PATTERN = /^!?[a-zA-Z0-9 :_@/+=.\-!]*$/;
const FILTER_KEYS = ['description', 'name', 'tag-key', 'tag-value', 'primary-region', 'owning-service', 'all'];

export interface Filter {
  key: string;
  values: string[];
}

export function parseBody(body: Buffer): Body {
  const text = body.toString('utf8');
  if (text.trim() === '') return {};
  // Never echo the parser's message: it quotes the body, which may carry a secret value.
  return parseJsonObject(text, 'SerializationException', {
    syntax: 'The request body is not valid JSON.',
    shape: 'The request body must be a JSON object.',
  });
}

/** Parses `text` as a JSON object; anything else is an `AwsError` with `code` and the matching message. */
export function parseJsonObject(
  text: string,
  code: string,
  messages: { syntax: string; shape: string },
): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AwsError(code, messages.syntax);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new AwsError(code, messages.shape);
  return parsed as Record<string, unknown>;
}

/** Seconds since the epoch with millisecond precision: how AWS JSON protocols send timestamps. */
export function epochSeconds(ms: number): number {
  return ms / 1000;
}

interface LengthRule {
  required?: boolean;
  min?: number;
  max?: number;
  /** Sensitive members are never quoted in messages. */
  sensitive?: boolean;
  /** The member's pattern, and the pattern as the API reference writes it (what the message quotes). */
  pattern?: { test: RegExp; text: string };
}

export class Input {
  /**
   * @param problems - shared with the enclosing request when this reads a nested structure
   * @param prefix - the member path of a nested structure (`rotationRules.`), as AWS names it in messages
   */
  constructor(
    private readonly body: Body,
    private readonly problems: string[] = [],
    private readonly prefix = '',
  ) {}

  secretId(): string {
    const id = this.string('SecretId', { required: true, min: 1, max: 2048 });
    return id ?? '';
  }

  string(field: string, rule: LengthRule = {}): string | undefined {
    const value = this.present(field, rule.required);
    if (value === undefined) return undefined;
    const text = asString(value);
    this.checkLength(this.member(field), text, text.length, rule);
    if (rule.pattern && !rule.pattern.test.test(text)) {
      const quoted = rule.sensitive ? 'Value' : `Value '${text}'`;
      this.fail(
        `${quoted} at '${this.member(field)}' failed to satisfy constraint: Member must satisfy regular expression pattern: ${rule.pattern.text}`,
      );
    }
    return text;
  }

  /** A structure member, read through an `Input` that reports its members' problems with this request's. */
  structure(field: string): Input | undefined {
    const value = this.present(field, false);
    if (value === undefined) return undefined;
    return new Input(asStructure(value), this.problems, `${this.member(field)}.`);
  }

  /** A blob member: base64 in JSON, returned normalised (re-encoded) so equal bytes compare equal. */
  blob(field: string, rule: LengthRule = {}): string | undefined {
    const value = this.present(field, rule.required);
    if (value === undefined) return undefined;
    const text = asString(value).replace(/\s+/g, '');
    if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) {
      throw new AwsError('SerializationException', `Base64 encoded binary data for ${field} is not valid.`);
    }
    const bytes = Buffer.from(text, 'base64');
    this.checkLength(this.member(field), '', bytes.length, { ...rule, sensitive: true });
    return bytes.toString('base64');
  }

  boolean(field: string): boolean | undefined {
    const value = this.present(field, false);
    if (value === undefined) return undefined;
    if (typeof value !== 'boolean') throw conversionError(value, 'Boolean');
    return value;
  }

  integer(field: string, rule: { min?: number; max?: number } = {}): number | undefined {
    const value = this.present(field, false);
    if (value === undefined) return undefined;
    if (typeof value !== 'number' || !Number.isInteger(value)) throw conversionError(value, 'Integer');
    const member = this.member(field);
    if (rule.min !== undefined && value < rule.min) {
      this.fail(
        `Value '${value}' at '${member}' failed to satisfy constraint: Member must have value greater than or equal to ${rule.min}`,
      );
    }
    if (rule.max !== undefined && value > rule.max) {
      this.fail(
        `Value '${value}' at '${member}' failed to satisfy constraint: Member must have value less than or equal to ${rule.max}`,
      );
    }
    return value;
  }

  enumeration(field: string, allowed: string[]): string | undefined {
    const value = this.string(field);
    if (value !== undefined && !allowed.includes(value)) {
      this.fail(
        `Value '${value}' at '${this.member(field)}' failed to satisfy constraint: Member must satisfy enum value set: [${allowed.join(', ')}]`,
      );
    }
    return value;
  }

  stringList(
    field: string,
    rule: { required?: boolean; min?: number; max?: number; itemMin?: number; itemMax?: number },
  ): string[] | undefined {
    const value = this.present(field, rule.required);
    if (value === undefined) return undefined;
    const items = asList(value).map((item) => asString(item));
    const member = this.member(field);
    this.checkCount(member, items, rule);
    items.forEach((item, i) => {
      this.checkLength(`${member}.${i + 1}.member`, item, item.length, { min: rule.itemMin, max: rule.itemMax });
    });
    return items;
  }

  tags(field: string, rule: { required?: boolean } = {}): Tag[] | undefined {
    const value = this.present(field, rule.required);
    if (value === undefined) return undefined;
    const member = this.member(field);
    return asList(value).map((item, i) => {
      const tag = asStructure(item);
      const key = tag.Key ?? null;
      const tagValue = tag.Value ?? null;
      const at = `${member}.${i + 1}.member`;
      if (key === null) this.fail(`Value null at '${at}.key' failed to satisfy constraint: Member must not be null`);
      if (tagValue === null) {
        this.fail(`Value null at '${at}.value' failed to satisfy constraint: Member must not be null`);
      }
      const keyText = key === null ? '' : asString(key);
      const valueText = tagValue === null ? '' : asString(tagValue);
      if (key !== null) this.checkLength(`${at}.key`, keyText, keyText.length, { min: 1, max: 128 });
      if (tagValue !== null) this.checkLength(`${at}.value`, valueText, valueText.length, { max: 256 });
      return { Key: keyText, Value: valueText };
    });
  }

  filters(field: string): Filter[] | undefined {
    const value = this.present(field, false);
    if (value === undefined) return undefined;
    const member = this.member(field);
    const list = asList(value);
    this.checkCount(member, list, { max: 10 });
    return list.map((item, i) => {
      const filter = asStructure(item);
      const at = `${member}.${i + 1}.member`;
      const keyValue = filter.Key ?? undefined;
      if (keyValue === undefined) throw new AwsError('InvalidParameterException', 'Invalid filter key');
      const key = asString(keyValue);
      if (!FILTER_KEYS.includes(key)) {
        this.fail(
          `Value '${key}' at '${at}.key' failed to satisfy constraint: Member must satisfy enum value set: [${FILTER_KEYS.join(', ')}]`,
        );
      }
      const rawValues = filter.Values ?? undefined;
      if (rawValues === undefined) {
        throw new AwsError('InvalidParameterException', `Invalid filter values for key: ${key}`);
      }
      const values = asList(rawValues).map((v) => asString(v));
      this.checkCount(`${at}.values`, values, { min: 1, max: 10 });
      values.forEach((v, j) => {
        const valueAt = `${at}.values.${j + 1}.member`;
        this.checkLength(valueAt, v, v.length, { max: 512 });
        if (!FILTER_VALUE_PATTERN.test(v)) {
          this.fail(
            `Value '${v}' at '${valueAt}' failed to satisfy constraint: Member must satisfy regular expression pattern: ^\\!?[a-zA-Z0-9 :_@\\/\\+\\=\\.\\-\\!]*$`,
          );
        }
      });
      return { key, values };
    });
  }

  /** Throws the collected constraint violations as one `ValidationException`. */
  finish(): void {
    const count = this.problems.length;
    if (count === 0) return;
    throw new AwsError(
      'ValidationException',
      `${count} validation error${count === 1 ? '' : 's'} detected: ${this.problems.join('; ')}`,
    );
  }

  private present(field: string, required: boolean | undefined): unknown {
    const value = this.body[field];
    if (value === undefined || value === null) {
      if (required)
        this.fail(`Value null at '${this.member(field)}' failed to satisfy constraint: Member must not be null`);
      return undefined;
    }
    return value;
  }

  private checkLength(member: string, text: string, length: number, rule: LengthRule): void {
    const quoted = rule.sensitive ? 'Value' : `Value '${text}'`;
    if (rule.min !== undefined && length < rule.min) {
      this.fail(
        `${quoted} at '${member}' failed to satisfy constraint: Member must have length greater than or equal to ${rule.min}`,
      );
    }
    if (rule.max !== undefined && length > rule.max) {
      this.fail(
        `${quoted} at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${rule.max}`,
      );
    }
  }

  private checkCount(member: string, items: unknown[], rule: { min?: number; max?: number }): void {
    if (rule.min !== undefined && items.length < rule.min) {
      this.fail(
        `Value at '${member}' failed to satisfy constraint: Member must have length greater than or equal to ${rule.min}`,
      );
    }
    if (rule.max !== undefined && items.length > rule.max) {
      this.fail(
        `Value at '${member}' failed to satisfy constraint: Member must have length less than or equal to ${rule.max}`,
      );
    }
  }

  /** A member's name as AWS's messages write it: lower camel case, with the path of enclosing structures. */
  private member(field: string): string {
    return `${this.prefix}${memberName(field)}`;
  }

  private fail(problem: string): void {
    this.problems.push(problem);
  }
}

/** `SecretId` → `secretId`: AWS names members lower-camel-case in validation messages. */
function memberName(field: string): string {
  return field.charAt(0).toLowerCase() + field.slice(1);
}

function asString(value: unknown): string {
  if (typeof value !== 'string') throw conversionError(value, 'String');
  return value;
}

function asList(value: unknown): unknown[] {
  if (!Array.isArray(value)) throw conversionError(value, 'List');
  return value;
}

function asStructure(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) throw conversionError(value, 'Structure');
  return value as Record<string, unknown>;
}

/** AWS's wording for a JSON value of the wrong type; the value itself is never quoted. */
function conversionError(value: unknown, expected: string): AwsError {
  if (Array.isArray(value)) return new AwsError('SerializationException', 'Start of list found where not expected');
  if (value !== null && typeof value === 'object') {
    return new AwsError('SerializationException', 'Start of structure or map found where not expected.');
  }
  const token =
    typeof value === 'number'
      ? 'NUMBER_VALUE'
      : typeof value === 'boolean'
        ? value
          ? 'TRUE_VALUE'
          : 'FALSE_VALUE'
        : 'STRING_VALUE';
  return new AwsError('SerializationException', `${token} cannot be converted to ${expected}`);
}
