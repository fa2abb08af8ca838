/**
 * The Step Functions wire format (awsJson1_0): request members, pages, dates, history events and responses in
 * AWS's shapes.
 */
import { AwsError, type AwsResponse, jsonOk } from '../protocol';
import type { HistoryEvent } from './store';

/**
 * AWS's execution name rules: 1–80 characters, none of whitespace, brackets `< > { } [ ]`, wildcards `? *`, the
 * special characters `" # % \ ^ | ~ $ & , ; : /` and the backtick, control characters (U+0000–001F, U+007F–009F,
 * U+FFFE–FFFF) or lone surrogates.
 */
export function isValidExecutionName(name: string): boolean {
  const chars = [...name];
  if (chars.length < 1 || chars.length > 80) return false;
  return chars.every((ch) => {
    const cp = ch.codePointAt(0) ?? 0;
    if (cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f) || cp === 0xfffe || cp === 0xffff) return false;
    if (cp >= 0xd800 && cp <= 0xdfff) return false;
    return !/[\s<>{}[\]?*"#%\\^|~`$&,;:/]/u.test(ch);
  });
}

export function renderEvent(event: HistoryEvent, includeData: boolean): Record<string, unknown> {
  const out: Record<string, unknown> = {
    timestamp: seconds(event.timestamp),
    type: event.type,
    id: event.id,
    previousEventId: event.previousEventId,
  };
  if (event.detailsKey && event.details) {
    let details = event.details;
    if (!includeData) {
      details = Object.fromEntries(
        Object.entries(details).filter(([k]) => !['input', 'inputDetails', 'output', 'outputDetails'].includes(k)),
      );
    }
    out[event.detailsKey] = details;
  }
  return out;
}

export function paginate<T>(
  items: T[],
  body: Record<string, unknown>,
  scope: string,
  defaultSize: number,
): { items: T[]; nextToken?: string } {
  const max = body.maxResults;
  if (max !== undefined && (typeof max !== 'number' || !Number.isInteger(max) || max < 0 || max > 1000)) {
    throw new AwsError('ValidationException', "Value at 'maxResults' must be between 0 and 1000");
  }
  const size = typeof max === 'number' && max > 0 ? max : defaultSize;
  let offset = 0;
  if (body.nextToken !== undefined) {
    const parsed = decodePageToken(body.nextToken, scope);
    if (parsed === undefined) throw new AwsError('InvalidToken', "Invalid Token: 'Invalid nextToken'");
    offset = parsed;
  }
  const page = items.slice(offset, offset + size);
  const next = offset + size;
  return next < items.length ? { items: page, nextToken: encodePageToken(next, scope) } : { items: page };
}

function encodePageToken(offset: number, scope: string): string {
  return Buffer.from(JSON.stringify({ o: offset, s: scope })).toString('base64url');
}

function decodePageToken(token: unknown, scope: string): number | undefined {
  if (typeof token !== 'string') return undefined;
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { o?: unknown; s?: unknown };
    return parsed.s === scope && typeof parsed.o === 'number' && Number.isInteger(parsed.o) && parsed.o >= 0
      ? parsed.o
      : undefined;
  } catch {
    return undefined;
  }
}

export function requiredString(body: Record<string, unknown>, key: string): string {
  const value = body[key];
  if (typeof value !== 'string' || value.length === 0) {
    throw new AwsError(
      'ValidationException',
      `Value null at '${key}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

export function optionalString(body: Record<string, unknown>, key: string, maxLength: number): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string' || value.length > maxLength) {
    throw new AwsError('ValidationException', `Value at '${key}' must be a string of at most ${maxLength} characters`);
  }
  return value;
}

export function json(value: unknown): AwsResponse {
  return { ...jsonOk(value), headers: jsonHeaders() };
}

/** Step Functions speaks awsJson1_0. */
export function jsonHeaders(errorType?: string): Record<string, string> {
  return {
    'content-type': 'application/x-amz-json-1.0',
    ...(errorType ? { 'x-amzn-errortype': errorType } : {}),
  };
}

/** AWS JSON dates: epoch seconds with fractional milliseconds. */
export function seconds(ms: number): number {
  return ms / 1000;
}
