/** Serving and calling a `LocalSecretsManager` in tests: a movable clock, a local HTTP endpoint, raw requests. */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { AwsError, type AwsRequest, type AwsResponse, jsonError } from '../../../local/aws/protocol';
import type { LocalSecretsManager } from '../../../local/aws/secrets-manager';

/** A movable clock: wall-clock time plus an offset the tests push forward. */
export function testClock() {
  let offset = 0;
  return {
    now: () => new Date(Date.now() + offset),
    advance: (ms: number) => {
      offset += ms;
    },
  };
}

/** Serves `service()` (looked up per request, so a test can swap in a restarted one) on a free local port. */
export async function serve(service: () => LocalSecretsManager): Promise<{ endpoint: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const target = req.headers['x-amz-target'];
      const request: AwsRequest = {
        method: req.method ?? 'POST',
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        body: Buffer.concat(chunks),
        ...(typeof target === 'string' ? { target } : {}),
      };
      service()
        .handle(request)
        .catch(() => jsonError(new AwsError('InternalFailure', 'unexpected failure', 500)))
        .then((response: AwsResponse) => {
          res.writeHead(response.status, response.headers);
          res.end(response.body);
        });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A raw awsJson1.1 request for `operation` (a string body is sent as it is). */
export function request(operation: string, body: unknown): AwsRequest {
  return {
    method: 'POST',
    path: '/',
    query: new URLSearchParams(),
    headers: {},
    body: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    target: `secretsmanager.${operation}`,
  };
}

/** Sends one request straight to `service.handle()`; the answer's status and parsed body. */
export async function call(service: LocalSecretsManager, operation: string, body: unknown) {
  const response = await service.handle(request(operation, body));
  return { status: response.status, json: JSON.parse(response.body.toString()) as Record<string, unknown> };
}

/** What one AWS CLI run printed, and its exit code. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `aws secretsmanager …` against `endpoint()` with throwaway credentials and `home` as its home (no config of the
 * developer's). Runs asynchronously: a synchronous call would block the server it talks to.
 */
export function secretsManagerCli(awsCli: string, home: string, endpoint: () => string) {
  return (...args: string[]) =>
    new Promise<CliRun>((resolve) => {
      execFile(
        awsCli,
        ['secretsmanager', ...args, '--endpoint-url', endpoint(), '--output', 'json'],
        {
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: home,
            AWS_ACCESS_KEY_ID: 'test',
            AWS_SECRET_ACCESS_KEY: 'test',
            AWS_REGION: 'us-east-1',
            AWS_DEFAULT_REGION: 'us-east-1',
            AWS_CONFIG_FILE: join(home, 'config'),
            AWS_SHARED_CREDENTIALS_FILE: join(home, 'credentials'),
          },
          timeout: 60_000,
        },
        (error, stdout, stderr) => {
          const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
          resolve({ code, stdout, stderr });
        },
      );
    });
}
