/**
 * DynamoDB for the local AWS endpoint: `dynalite` (LevelDB on disk, or in memory) behind the shared port.
 *
 * dynalite only exposes an `http.Server`. Its request listener is driven here with an in-memory request
 * stream and a response collector, so DynamoDB is an ordinary `AwsService` and the edge needs no special
 * case for it. dynalite has no transactions and no TTL; those operations answer `UnknownOperationException`.
 */
import type { IncomingHttpHeaders, Server } from 'node:http';
import { Readable } from 'node:stream';
import type { DescribedAwsService } from './edge';
import type { AwsRequest, AwsResponse } from './protocol';

const TARGET_PREFIX = 'DynamoDB_20120810.';

/** The operations dynalite 4 implements (its own list, API version 2012-08-10). */
export const DYNAMODB_OPERATIONS = [
  'BatchGetItem',
  'BatchWriteItem',
  'CreateTable',
  'DeleteItem',
  'DeleteTable',
  'DescribeTable',
  'DescribeTimeToLive',
  'GetItem',
  'ListTables',
  'PutItem',
  'Query',
  'Scan',
  'TagResource',
  'UntagResource',
  'ListTagsOfResource',
  'UpdateItem',
  'UpdateTable',
] as const;

export interface DynamoDbOptions {
  /** LevelDB folder; tables and items survive restarts. In memory when absent. */
  path?: string;
}

export interface DynamoDbService extends DescribedAwsService {
  /** Waits for pending writes and releases the LevelDB folder (so it can be opened again). */
  close(): Promise<void>;
}

interface DynaliteOptions {
  path?: string;
  createTableMs?: number;
  deleteTableMs?: number;
  updateTableMs?: number;
}

type RequestListener = (req: unknown, res: unknown) => void;

/** Creates the DynamoDB service backed by dynalite. */
export function createDynamoDb(options: DynamoDbOptions = {}): DynamoDbService {
  // dynalite ships no type declarations.
  const dynalite = require('dynalite') as (options: DynaliteOptions) => Server;
  // Zero delays: tables and indexes are ACTIVE as soon as CreateTable/UpdateTable returns, as the runtime
  // creates tables at start-up and uses them at once.
  const server = dynalite({
    ...(options.path ? { path: options.path } : {}),
    createTableMs: 0,
    deleteTableMs: 0,
    updateTableMs: 0,
  });
  const listener = server.listeners('request')[0] as RequestListener | undefined;
  if (!listener) throw new Error('dynalite did not register a request listener');
  let closed: Promise<void> | undefined;

  return {
    name: 'dynamodb',
    operations: DYNAMODB_OPERATIONS,
    matches: (req) => req.target?.startsWith(TARGET_PREFIX) ?? false,
    operation: (req) => (req.target ?? '').slice(TARGET_PREFIX.length),
    handle: (req) => callListener(listener, req),
    close() {
      closed ??= closeDynalite(server, options.path !== undefined);
      return closed;
    },
  };
}

function callListener(listener: RequestListener, req: AwsRequest): Promise<AwsResponse> {
  return new Promise((resolve) => {
    const query = req.query.toString();
    const fakeReq = Object.assign(Readable.from(req.body.length > 0 ? [req.body] : []), {
      method: req.method,
      url: query ? `${req.path}?${query}` : req.path,
      headers: req.headers satisfies IncomingHttpHeaders,
    });
    const headers: Record<string, string> = {};
    // The subset of ServerResponse that dynalite's listener uses.
    const fakeRes = {
      statusCode: 200,
      contentType: undefined as string | undefined,
      setHeader(name: string, value: string | number) {
        headers[name.toLowerCase()] = String(value);
      },
      end(body?: string | Buffer) {
        resolve({ status: fakeRes.statusCode, headers, body: body ?? '' });
      },
    };
    listener(fakeReq, fakeRes);
  });
}

/**
 * dynalite closes its database only from `server.close()`, which fails before touching the database when
 * the server never listened. So an on-disk instance briefly listens on a free loopback port first.
 */
function closeDynalite(server: Server, onDisk: boolean): Promise<void> {
  if (!onDisk) return Promise.resolve();
  return new Promise((resolve, reject) => {
    server.listen(0, '127.0.0.1', () => server.close((error) => (error ? reject(error) : resolve())));
  });
}
