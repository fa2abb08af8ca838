import { LogFormatter, Logger, LogItem } from '@aws-lambda-powertools/logger';
import type { LogAttributes, UnformattedAttributes } from '@aws-lambda-powertools/logger/types';

/** Keys whose values are secrets (token values, task tokens, keys, signatures, CSRF values): never logged. */
const SECRET_KEY =
  /^(token|secretstring|secretbinary|tasktoken|apikey|orgapikey|authorization|sig|csrf|password|cookie|secret|value|access_token)$/i;

/** Replaces the values of secret-named keys, at any depth, with a marker. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8 || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) return value.map((v) => redact(v, depth + 1));
  if (value instanceof Error) return { name: value.name, message: value.message };
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = SECRET_KEY.test(k) ? '[REDACTED]' : redact(v, depth + 1);
  return out;
}

/** Powertools' JSON format, with secret-named fields redacted by construction. */
class RedactingFormatter extends LogFormatter {
  formatAttributes(attributes: UnformattedAttributes, additional: LogAttributes): LogItem {
    const base = {
      level: attributes.logLevel,
      message: attributes.message,
      timestamp: this.formatTimestamp(attributes.timestamp),
      service: attributes.serviceName,
      function_name: attributes.lambdaContext?.functionName,
      request_id: attributes.lambdaContext?.awsRequestId,
      xray_trace_id: attributes.xRayTraceId,
      correlation_id: (additional as Record<string, unknown>).correlationId,
    };
    const item = new LogItem({ attributes: base });
    item.addAttributes(redact(additional) as LogAttributes);
    return item;
  }
}

export const logger = new Logger({ logFormatter: new RedactingFormatter() });
