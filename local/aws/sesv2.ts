/**
 * SES v2 for the local AWS endpoint (restJson1 under `/v2/email/`): `SendEmail` with Simple content into the
 * mail store, and `GetAccount`. Validation follows SES: a bad request is `400 BadRequestException`.
 */
import type { MailStore } from '../mail/mail-store';
import type { DescribedAwsService } from './edge';
import { AwsError, type AwsRequest, type AwsResponse } from './protocol';

/** SES sends to at most 50 recipients per message (To, Cc and Bcc together). */
const MAX_RECIPIENTS = 50;

/** SES v2 routes this endpoint recognises, to name unsupported ones in errors. */
const ROUTES: readonly [method: string, pattern: RegExp, operation: string][] = [
  ['POST', /^\/v2\/email\/outbound-emails$/, 'SendEmail'],
  ['POST', /^\/v2\/email\/outbound-bulk-emails$/, 'SendBulkEmail'],
  ['GET', /^\/v2\/email\/account$/, 'GetAccount'],
  ['POST', /^\/v2\/email\/identities$/, 'CreateEmailIdentity'],
  ['GET', /^\/v2\/email\/identities$/, 'ListEmailIdentities'],
  ['GET', /^\/v2\/email\/identities\/[^/]+$/, 'GetEmailIdentity'],
  ['DELETE', /^\/v2\/email\/identities\/[^/]+$/, 'DeleteEmailIdentity'],
  ['POST', /^\/v2\/email\/templates$/, 'CreateEmailTemplate'],
  ['GET', /^\/v2\/email\/templates$/, 'ListEmailTemplates'],
  ['GET', /^\/v2\/email\/templates\/[^/]+$/, 'GetEmailTemplate'],
  ['PUT', /^\/v2\/email\/templates\/[^/]+$/, 'UpdateEmailTemplate'],
  ['DELETE', /^\/v2\/email\/templates\/[^/]+$/, 'DeleteEmailTemplate'],
];

/** Creates the SES v2 service writing to `mailStore`. */
export function createSesV2(options: { mailStore: MailStore }): DescribedAwsService {
  const { mailStore } = options;
  const operationOf = (req: AwsRequest) =>
    ROUTES.find(([method, pattern]) => method === req.method && pattern.test(req.path))?.[2] ??
    `${req.method} ${req.path}`;
  return {
    name: 'ses',
    operations: ['SendEmail', 'GetAccount'],
    matches: (req) => !req.target && req.path.startsWith('/v2/email/'),
    operation: operationOf,
    async handle(req) {
      const operation = operationOf(req);
      if (operation === 'SendEmail') return sendEmail(mailStore, req);
      if (operation === 'GetAccount') return getAccount();
      throw new AwsError('UnknownOperationException', `Operation ${operation} of ses is not supported locally`, 404);
    },
  };
}

function ok(value: unknown): AwsResponse {
  return { status: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify(value) };
}

function badRequest(message: string): AwsError {
  return new AwsError('BadRequestException', message, 400);
}

function sendEmail(mailStore: MailStore, req: AwsRequest): AwsResponse {
  const input = parseObject(req.body);
  const content = objectAt(input, 'Content');
  if (!content) throw badRequest('Content is required.');
  if (content.Raw !== undefined || content.Template !== undefined) {
    throw badRequest('The local SES endpoint supports Simple content only (not Raw or Template).');
  }
  const simple = objectAt(content, 'Simple');
  if (!simple) throw badRequest('Content must contain Simple, Raw or Template.');
  const subject = charsetData(objectAt(simple, 'Subject'), 'Content.Simple.Subject');
  if (subject === undefined) throw badRequest('Subject is required.');
  const body = objectAt(simple, 'Body');
  if (!body) throw badRequest('Body is required.');
  const text = charsetData(objectAt(body, 'Text'), 'Content.Simple.Body.Text');
  const html = charsetData(objectAt(body, 'Html'), 'Content.Simple.Body.Html');
  if (text === undefined && html === undefined) throw badRequest('Body must contain Text or Html.');

  const from = input.FromEmailAddress;
  if (from === undefined || from === null || from === '') throw badRequest('FromEmailAddress is required.');
  if (typeof from !== 'string') throw badRequest('FromEmailAddress must be a string.');
  checkAddress(from);

  const destination = objectAt(input, 'Destination') ?? {};
  const to = addressList(destination, 'ToAddresses');
  const cc = addressList(destination, 'CcAddresses');
  const bcc = addressList(destination, 'BccAddresses');
  const replyTo = addressList(input, 'ReplyToAddresses');
  const count = to.length + cc.length + bcc.length;
  if (count === 0) throw badRequest('Destination must contain at least one recipient.');
  if (count > MAX_RECIPIENTS) throw badRequest(`Recipient count exceeds ${MAX_RECIPIENTS}.`);
  for (const address of [...to, ...cc, ...bcc, ...replyTo]) checkAddress(address);

  const stored = mailStore.add({
    from,
    replyTo,
    destination: { to, cc, bcc },
    subject,
    body: { ...(html !== undefined ? { html } : {}), ...(text !== undefined ? { text } : {}) },
  });
  return ok({ MessageId: stored.messageId });
}

function getAccount(): AwsResponse {
  return ok({
    DedicatedIpAutoWarmupEnabled: false,
    EnforcementStatus: 'HEALTHY',
    ProductionAccessEnabled: true,
    SendingEnabled: true,
    SendQuota: { Max24HourSend: 50_000, MaxSendRate: 14, SentLast24Hours: 0 },
  });
}

function parseObject(body: Buffer): Record<string, unknown> {
  if (body.length === 0) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    throw badRequest('The request body is not valid JSON.');
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw badRequest('The request body must be a JSON object.');
  }
  return parsed as Record<string, unknown>;
}

function objectAt(parent: Record<string, unknown>, key: string): Record<string, unknown> | undefined {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) throw badRequest(`${key} must be an object.`);
  return value as Record<string, unknown>;
}

/** The `Data` of a `{Charset?, Data}` member. */
function charsetData(value: Record<string, unknown> | undefined, path: string): string | undefined {
  if (!value) return undefined;
  if (typeof value.Data !== 'string') throw badRequest(`${path}.Data is required.`);
  if (value.Charset !== undefined && typeof value.Charset !== 'string') {
    throw badRequest(`${path}.Charset must be a string.`);
  }
  return value.Data;
}

function addressList(parent: Record<string, unknown>, key: string): string[] {
  const value = parent[key];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) {
    throw badRequest(`${key} must be a list of email addresses.`);
  }
  return value as string[];
}

// WHATWG's e-mail address grammar (what browsers accept in <input type=email>).
const ADDRESS =
  /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/;

/** Accepts `user@example.com` and `Display Name <user@example.com>`; rejects with SES's wording. */
function checkAddress(value: string): void {
  const bracketed = /<([^<>]*)>\s*$/.exec(value);
  const address = (bracketed?.[1] ?? value).trim();
  if (!address.includes('@')) throw badRequest(`Missing final '@domain' in address ${value}.`);
  if (!ADDRESS.test(address)) throw badRequest(`Illegal address ${value}.`);
}
