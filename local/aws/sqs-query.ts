/**
 * SQS's older AWS query protocol (form-encoded `Action=…` requests, XML answers), which AWS CLI releases before the
 * JSON protocol switch still send (Debian's `awscli` 2.9 among them). Requests are turned into the JSON protocol's
 * input shape and answers back into the query protocol's XML, so one implementation serves both.
 */
import { randomUUID } from 'node:crypto';
import type { AwsRequest, AwsResponse } from './protocol';

const NAMESPACE = 'http://queue.amazonaws.com/doc/2012-11-05/';
const NUMBERS = new Set(['MaxNumberOfMessages', 'VisibilityTimeout', 'WaitTimeSeconds', 'DelaySeconds', 'MaxResults']);
const LISTS: Record<string, string> = {
  AttributeName: 'AttributeNames',
  MessageSystemAttributeName: 'MessageSystemAttributeNames',
  MessageAttributeName: 'MessageAttributeNames',
};

/** Whether `req` is a query-protocol SQS request (`POST /` or `POST /<account>/<queue>` with a form body). */
export function isSqsQueryRequest(req: AwsRequest): boolean {
  if (req.target || req.method !== 'POST') return false;
  if (req.path !== '/' && !/^\/\d{12}\/[^/]+\/?$/.test(req.path)) return false;
  const type = String(req.headers['content-type'] ?? '');
  return (
    type.startsWith('application/x-www-form-urlencoded') && new URLSearchParams(req.body.toString('utf8')).has('Action')
  );
}

export function sqsQueryAction(req: AwsRequest): string {
  return new URLSearchParams(req.body.toString('utf8')).get('Action') ?? '';
}

/** The JSON-protocol input of a query-protocol request. */
export function sqsQueryInput(req: AwsRequest): Record<string, unknown> {
  const params = new URLSearchParams(req.body.toString('utf8'));
  const input: Record<string, unknown> = {};
  const indexed = new Map<string, Map<number, Record<string, string>>>();
  for (const [key, value] of params) {
    if (key === 'Action' || key === 'Version') continue;
    const member = /^([A-Za-z]+)\.(\d+)(?:\.(.+))?$/.exec(key);
    if (!member) {
      input[key] = NUMBERS.has(key) && /^-?\d+$/.test(value) ? Number(value) : value;
      continue;
    }
    const [, name, n, rest] = member as unknown as [string, string, string, string | undefined];
    const group = indexed.get(name) ?? new Map<number, Record<string, string>>();
    indexed.set(name, group);
    const entry = group.get(Number(n)) ?? {};
    group.set(Number(n), entry);
    entry[rest ?? ''] = value;
  }
  for (const [name, group] of indexed) {
    const entries = [...group.entries()].sort(([a], [b]) => a - b).map(([, entry]) => entry);
    if (LISTS[name]) input[LISTS[name]] = entries.map((e) => e[''] ?? '');
    else if (name === 'Attribute' || name === 'Tag') {
      const [k, v] = name === 'Attribute' ? ['Name', 'Value'] : ['Key', 'Value'];
      input[name === 'Attribute' ? 'Attributes' : 'tags'] = Object.fromEntries(
        entries.map((e) => [e[k as string] ?? '', e[v as string] ?? '']),
      );
    } else if (name === 'MessageAttribute') {
      input.MessageAttributes = Object.fromEntries(
        entries.map((e) => [
          e.Name ?? '',
          {
            DataType: e['Value.DataType'],
            ...(e['Value.StringValue'] !== undefined ? { StringValue: e['Value.StringValue'] } : {}),
            ...(e['Value.BinaryValue'] !== undefined ? { BinaryValue: e['Value.BinaryValue'] } : {}),
          },
        ]),
      );
    } else if (name.endsWith('BatchRequestEntry')) {
      input.Entries = entries.map((e) =>
        Object.fromEntries(Object.entries(e).map(([k, v]) => [k, NUMBERS.has(k) && /^-?\d+$/.test(v) ? Number(v) : v])),
      );
    }
  }
  return input;
}

/** A JSON-protocol output as the query protocol's XML answer. */
export function sqsQueryResponse(operation: string, output: Record<string, unknown>): AwsResponse {
  const body = Object.entries(output)
    .map(([key, value]) => member(operation, key, value))
    .join('');
  const result = body ? `<${operation}Result>${body}</${operation}Result>` : '';
  return xml(
    200,
    `<${operation}Response xmlns="${NAMESPACE}">${result}<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${operation}Response>`,
  );
}

/** An error as the query protocol sends it. */
export function sqsQueryError(status: number, code: string, message: string): AwsResponse {
  return xml(
    status,
    `<ErrorResponse xmlns="${NAMESPACE}"><Error><Type>Sender</Type><Code>${xmlText(code)}</Code><Message>${xmlText(message)}</Message><Detail/></Error><RequestId>${randomUUID()}</RequestId></ErrorResponse>`,
  );
}

function member(operation: string, key: string, value: unknown): string {
  switch (key) {
    case 'Attributes':
      return attributeList('Attribute', value as Record<string, string>);
    case 'QueueUrls':
      return (value as string[]).map((url) => `<QueueUrl>${xmlText(url)}</QueueUrl>`).join('');
    case 'Messages':
      return (value as Record<string, unknown>[])
        .map(
          (m) =>
            `<Message>${Object.entries(m)
              .map(([k, v]) => messageMember(k, v))
              .join('')}</Message>`,
        )
        .join('');
    case 'Successful':
    case 'Failed': {
      const tag = key === 'Failed' ? 'BatchResultErrorEntry' : `${operation}ResultEntry`;
      return (value as Record<string, unknown>[])
        .map(
          (e) =>
            `<${tag}>${Object.entries(e)
              .map(([k, v]) => `<${k}>${xmlText(String(v))}</${k}>`)
              .join('')}</${tag}>`,
        )
        .join('');
    }
    default:
      return `<${key}>${xmlText(String(value))}</${key}>`;
  }
}

function messageMember(key: string, value: unknown): string {
  if (key === 'Attributes') return attributeList('Attribute', value as Record<string, string>);
  if (key === 'MessageAttributes') {
    return Object.entries(value as Record<string, Record<string, string>>)
      .map(
        ([name, a]) =>
          `<MessageAttribute><Name>${xmlText(name)}</Name><Value>${Object.entries(a)
            .map(([k, v]) => `<${k}>${xmlText(v)}</${k}>`)
            .join('')}</Value></MessageAttribute>`,
      )
      .join('');
  }
  return `<${key}>${xmlText(String(value))}</${key}>`;
}

function attributeList(tag: string, attributes: Record<string, string>): string {
  return Object.entries(attributes)
    .map(([name, value]) => `<${tag}><Name>${xmlText(name)}</Name><Value>${xmlText(value)}</Value></${tag}>`)
    .join('');
}

function xmlText(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/\r/g, '&#xD;');
}

function xml(status: number, body: string): AwsResponse {
  return { status, headers: { 'content-type': 'text/xml' }, body: `<?xml version="1.0"?>${body}` };
}
