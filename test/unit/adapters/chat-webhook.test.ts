import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  DEFAULT_RETRY_AFTER_SECONDS,
  parseRetryAfter,
  sanitizedExcerpt,
  WebhookChatSender,
  type WebhookChatSenderOptions,
} from '../../../functions/adapters/chat/webhook';
import { ChatDeliveryRejectedError, ChatDeliveryRetryableError } from '../../../functions/use-cases/port-errors';

const NOW = new Date('2026-12-03T12:00:00Z');
const SECRET_PATH = '/services/T000/B000/XXXXsecretXXXXpathXXXX';
/** The path of the webhook that replaced a revoked one. */
const ROTATED_PATH = '/services/T000/B001/XXXXsecretXXXXrotatedXXXX';
const CHANNEL = { kind: 'slack' as const, webhookSecretName: 'token-warden/chat/slack-security' };

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

let server: Server;
let handler: Handler;
let received: { method?: string; url?: string; type?: string; body: string }[];
let url: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => {
      body += chunk;
    });
    req.on('end', () => {
      received.push({ method: req.method, url: req.url, type: req.headers['content-type'], body });
      handler(req, res, body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}${SECRET_PATH}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  received = [];
  handler = (_req, res) => res.writeHead(200).end('ok');
});

function sender(readSecret: WebhookChatSenderOptions['readSecret'] = async () => url, timeoutMs = 2000) {
  return new WebhookChatSender({ readSecret, timeoutMs, clock: { now: () => NOW } });
}

/** The error `send` threw, checked to say nothing of the webhook URL. */
async function failure(send: Promise<void>): Promise<Error> {
  const error = await send.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof Error)) throw new Error('expected send to fail');
  const shown = [error.message, String(error.stack), JSON.stringify(error), JSON.stringify(error.cause ?? null)];
  for (const text of shown) {
    expect(text).not.toContain(SECRET_PATH);
    expect(text).not.toContain('XXXXsecret');
    expect(text).not.toContain('127.0.0.1');
  }
  return error;
}

describe('Class: WebhookChatSender', () => {
  describe('Method: send', () => {
    it('POSTs the body as JSON to the URL the secret holds and resolves on 2xx', async () => {
      // Prepare
      const reads: string[] = [];
      const chat = sender(async (id) => {
        reads.push(id);
        return `${url}\n`;
      });
      // Act
      await chat.send(CHANNEL, { text: 'hello' });
      handler = (_req, res) => res.writeHead(204).end();
      await chat.send(CHANNEL, { text: 'again' });
      // Assess
      expect(received).toEqual([
        { method: 'POST', url: SECRET_PATH, type: 'application/json', body: '{"text":"hello"}' },
        { method: 'POST', url: SECRET_PATH, type: 'application/json', body: '{"text":"again"}' },
      ]);
      // Read once per container.
      expect(reads).toEqual(['token-warden/chat/slack-security']);
    });

    it.each([
      [429, '7', 7],
      [500, undefined, DEFAULT_RETRY_AFTER_SECONDS],
      [503, 'Thu, 03 Dec 2026 12:01:30 GMT', 90],
      [502, 'soon', DEFAULT_RETRY_AFTER_SECONDS],
    ])('throws ChatDeliveryRetryableError on %i with Retry-After %p (wait %i s)', async (status, retryAfter, wait) => {
      // Prepare
      handler = (_req, res) =>
        res.writeHead(status, retryAfter ? { 'retry-after': retryAfter } : {}).end(`upstream at ${url}`);
      // Act
      const error = await failure(sender().send(CHANNEL, { text: 'x' }));
      // Assess
      expect(error).toBeInstanceOf(ChatDeliveryRetryableError);
      expect(error).toMatchObject({ name: 'ChatDeliveryRetryableError', status, retryAfterSeconds: wait });
      expect(error.message).toBe(`slack webhook (secret token-warden/chat/slack-security) answered ${status}`);
    });

    it.each([400, 401, 403, 404, 410])(
      'throws ChatDeliveryRejectedError on %i with a short sanitised excerpt',
      async (status) => {
        // Prepare
        handler = (_req, res) =>
          res.writeHead(status).end(`invalid_payload\u0000 see ${url} token=${'a'.repeat(60)} ${'b'.repeat(2000)}`);
        // Act
        const error = await failure(sender().send(CHANNEL, { text: 'x' }));
        // Assess
        expect(error).toBeInstanceOf(ChatDeliveryRejectedError);
        expect(error).toMatchObject({
          name: 'ChatDeliveryRejectedError',
          status,
          excerpt: 'invalid_payload see [url] […] […]',
        });
        expect(error.message).toBe(
          `slack webhook (secret token-warden/chat/slack-security) refused the message: ${status} invalid_payload see [url] […] […]`,
        );
      },
    );

    it('reads the secret again past every cache after a 404, not after a 400, and keeps the URL it read', async () => {
      // Prepare
      const reads: unknown[] = [];
      const chat = sender(async (_id, options) => {
        reads.push(options);
        return url;
      });
      handler = (_req, res) => res.writeHead(400).end('invalid_blocks');
      await failure(chat.send(CHANNEL, {}));
      await failure(chat.send(CHANNEL, {}));
      handler = (_req, res) => res.writeHead(404).end('no_service');
      const gone = await failure(chat.send(CHANNEL, {}));
      handler = (_req, res) => res.writeHead(200).end('ok');
      // Act
      await chat.send(CHANNEL, {});
      // Assess
      expect(gone).toMatchObject({ name: 'ChatDeliveryRejectedError', status: 404, excerpt: 'no_service' });
      // The same URL again is not posted to twice.
      expect(received.map((r) => r.url)).toEqual([SECRET_PATH, SECRET_PATH, SECRET_PATH, SECRET_PATH]);
      expect(reads).toEqual([undefined, { forceFetch: true }]);
    });

    describe('when the webhook was revoked and the secret now holds its replacement', () => {
      /** A secret whose cached value is the revoked URL until read with `forceFetch`. */
      function rotatedSecret() {
        const reads: unknown[] = [];
        let value = url;
        const readSecret = async (_id: string, options?: { forceFetch?: boolean }) => {
          reads.push(options);
          if (options?.forceFetch) value = url.replace(SECRET_PATH, ROTATED_PATH);
          return value;
        };
        return { reads, readSecret };
      }

      it.each([401, 403, 404, 410])('posts the message to the new URL after a %i and keeps it', async (status) => {
        // Prepare
        const secret = rotatedSecret();
        const chat = sender(secret.readSecret);
        handler = (req, res) =>
          req.url === ROTATED_PATH ? res.writeHead(200).end('ok') : res.writeHead(status).end('invalid_token');
        // Act
        await chat.send(CHANNEL, { text: 'first' });
        await chat.send(CHANNEL, { text: 'second' });
        // Assess
        expect(received).toEqual([
          { method: 'POST', url: SECRET_PATH, type: 'application/json', body: '{"text":"first"}' },
          { method: 'POST', url: ROTATED_PATH, type: 'application/json', body: '{"text":"first"}' },
          { method: 'POST', url: ROTATED_PATH, type: 'application/json', body: '{"text":"second"}' },
        ]);
        expect(secret.reads).toEqual([undefined, { forceFetch: true }]);
      });

      it('throws ChatDeliveryRejectedError with the new answer when the new URL refuses too, posting once more only', async () => {
        // Prepare
        const secret = rotatedSecret();
        handler = (req, res) =>
          req.url === ROTATED_PATH
            ? res.writeHead(404).end(`no_service at ${req.url}`)
            : res.writeHead(403).end('invalid_token');
        // Act
        const error = await failure(sender(secret.readSecret).send(CHANNEL, { text: 'x' }));
        // Assess
        expect(error).toBeInstanceOf(ChatDeliveryRejectedError);
        expect(error).toMatchObject({ name: 'ChatDeliveryRejectedError', status: 404, excerpt: 'no_service at […]' });
        expect(error.message).not.toContain('XXXXrotated');
        expect(received.map((r) => r.url)).toEqual([SECRET_PATH, ROTATED_PATH]);
      });

      it('throws ChatDeliveryRetryableError when the new URL answers 503', async () => {
        // Prepare
        const secret = rotatedSecret();
        handler = (req, res) =>
          req.url === ROTATED_PATH
            ? res.writeHead(503, { 'retry-after': '12' }).end()
            : res.writeHead(403).end('invalid_token');
        // Act
        const error = await failure(sender(secret.readSecret).send(CHANNEL, { text: 'x' }));
        // Assess
        expect(error).toMatchObject({ name: 'ChatDeliveryRetryableError', status: 503, retryAfterSeconds: 12 });
        expect(received.map((r) => r.url)).toEqual([SECRET_PATH, ROTATED_PATH]);
      });
    });

    it('throws the read error, not a refusal, when the secret cannot be read again after a 403', async () => {
      // Prepare
      const reads: unknown[] = [];
      const chat = sender(async (_id, options) => {
        reads.push(options);
        if (options?.forceFetch) throw new Error('AwsTransientError');
        return url;
      });
      handler = (_req, res) => res.writeHead(403).end('invalid_token');
      // Act
      const error = await failure(chat.send(CHANNEL, {}));
      handler = (_req, res) => res.writeHead(200).end('ok');
      await chat.send(CHANNEL, {});
      // Assess
      expect(error).not.toBeInstanceOf(ChatDeliveryRejectedError);
      expect(error.message).toBe('AwsTransientError');
      // No URL was kept after the failed read: the next message reads the secret again.
      expect(reads).toEqual([undefined, { forceFetch: true }, undefined]);
    });

    it('does not follow a redirect: the body never goes to another address', async () => {
      // Prepare
      handler = (req, res) =>
        req.url === SECRET_PATH ? res.writeHead(307, { location: '/elsewhere' }).end() : res.writeHead(200).end();
      // Act
      const error = await failure(sender().send(CHANNEL, { text: 'x' }));
      // Assess
      expect(error).toMatchObject({ name: 'ChatDeliveryRejectedError', status: 307 });
      expect(received.map((r) => r.url)).toEqual([SECRET_PATH]);
    });

    it('throws ChatDeliveryRetryableError with the default back-off when the webhook does not answer in time', async () => {
      // Prepare
      handler = () => undefined;
      // Act
      const started = Date.now();
      const error = await failure(sender(async () => url, 200).send(CHANNEL, { text: 'x' }));
      // Assess
      expect(Date.now() - started).toBeLessThan(1500);
      expect(error).toBeInstanceOf(ChatDeliveryRetryableError);
      expect(error).toMatchObject({ retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS, status: undefined });
      expect(error.message).toBe(
        'slack webhook (secret token-warden/chat/slack-security) did not answer (TimeoutError)',
      );
    });

    it('throws ChatDeliveryRetryableError when nothing listens, without naming the address', async () => {
      // Prepare
      const closed = createServer();
      await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
      const port = (closed.address() as AddressInfo).port;
      await new Promise((resolve) => closed.close(resolve));
      // Act
      const error = await failure(sender(async () => `http://127.0.0.1:${port}${SECRET_PATH}`).send(CHANNEL, {}));
      // Assess
      expect(error).toMatchObject({
        name: 'ChatDeliveryRetryableError',
        retryAfterSeconds: DEFAULT_RETRY_AFTER_SECONDS,
      });
    });

    it('refuses a secret that holds no URL, or a plain-http URL off this machine, without sending', async () => {
      // Act
      const notUrl = await failure(sender(async () => 'XXXXsecret not a url').send(CHANNEL, {}));
      const http = await failure(sender(async () => `http://hooks.example.com${SECRET_PATH}`).send(CHANNEL, {}));
      // Assess
      expect(notUrl).toMatchObject({ name: 'ChatDeliveryRejectedError', status: 0 });
      expect(http).toMatchObject({ name: 'ChatDeliveryRejectedError', status: 0 });
      expect(http.message).toBe(
        'slack webhook (secret token-warden/chat/slack-security): the secret holds no https URL',
      );
      expect(received).toEqual([]);
    });

    it('tries the secret again after a failed read', async () => {
      // Prepare
      let reads = 0;
      const chat = sender(async () => {
        reads++;
        if (reads === 1) throw new Error('AwsTransientError');
        return url;
      });
      await expect(chat.send(CHANNEL, {})).rejects.toThrow('AwsTransientError');
      // Act
      await chat.send(CHANNEL, {});
      // Assess
      expect(reads).toBe(2);
      expect(received).toHaveLength(1);
    });
  });
});

describe('Function: parseRetryAfter', () => {
  it.each([
    ['0', 0],
    [' 120 ', 120],
    ['86400', 3600],
    ['Thu, 03 Dec 2026 12:00:10 GMT', 10],
    ['Thu, 03 Dec 2026 11:00:00 GMT', 0],
    [null, undefined],
    ['', undefined],
    ['-5', undefined],
    ['1.5', undefined],
    ['soon', undefined],
    ['2026-12-03', undefined],
    ['Thu, 99 Foo 2026 12:00:10 GMT', undefined],
  ])('reads %p as %p seconds', (value, seconds) => {
    // Act / Assess
    expect(parseRetryAfter(value, NOW)).toBe(seconds);
  });
});

describe('Function: sanitizedExcerpt', () => {
  it('keeps at most 100 printable characters and no URL', () => {
    // Act
    const excerpt = sanitizedExcerpt(`bad\r\n\u202e https://hooks.slack.com/x ${'word '.repeat(50)}`);
    // Assess
    expect(excerpt.startsWith('bad [url] word word')).toBe(true);
    expect(excerpt.length).toBeLessThanOrEqual(100);
  });
});
