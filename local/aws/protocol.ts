/** Shared shapes of the local AWS endpoint (port 4566): every emulated service plugs in through these. */
import type { IncomingHttpHeaders } from 'node:http';

export const LOCAL_ACCOUNT = '000000000000';
export const LOCAL_REGION = 'us-east-1';

export interface AwsRequest {
  method: string;
  /** Path without the query string. */
  path: string;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  body: Buffer;
  /** `X-Amz-Target` for JSON-protocol services, e.g. `secretsmanager.GetSecretValue`. */
  target?: string;
}

export interface AwsResponse {
  status: number;
  headers?: Record<string, string>;
  body: string | Buffer;
}

/** One emulated AWS service behind the shared endpoint. */
export interface AwsService {
  /** The service name used in the call log (e.g. `secretsmanager`). */
  readonly name: string;
  /** Whether this service answers the request (by `X-Amz-Target` prefix or path). */
  matches(req: AwsRequest): boolean;
  /** The operation name, for the call log and unsupported-operation errors. */
  operation(req: AwsRequest): string;
  handle(req: AwsRequest): Promise<AwsResponse>;
}

/** An AWS-shaped error; `code` is AWS's exception name (e.g. `ResourceNotFoundException`). */
export class AwsError extends Error {
  override readonly name = 'AwsError';
  constructor(
    readonly code: string,
    message: string,
    readonly status = 400,
  ) {
    super(message);
  }
}

/** awsJson1.0/1.1 error body, as the SDK v3 and the AWS CLI parse it. */
export function jsonError(error: AwsError): AwsResponse {
  return {
    status: error.status,
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amzn-errortype': error.code },
    body: JSON.stringify({ __type: error.code, message: error.message, Message: error.message }),
  };
}

export function jsonOk(value: unknown): AwsResponse {
  return {
    status: 200,
    headers: { 'content-type': 'application/x-amz-json-1.1' },
    body: JSON.stringify(value ?? {}),
  };
}

/** restJson1 error body (SES v2, Scheduler). */
export function restError(error: AwsError): AwsResponse {
  return {
    status: error.status,
    headers: { 'content-type': 'application/json', 'x-amzn-errortype': error.code },
    body: JSON.stringify({ message: error.message, Message: error.message }),
  };
}

/** One entry of the call log served at `GET /local/calls`. */
export interface CallRecord {
  at: string;
  service: string;
  operation: string;
  durationMs: number;
  status: number;
  executionId?: string;
  errorCode?: string;
}

export interface CallLog {
  record(entry: CallRecord): void;
}
