/**
 * `ChatSender` over HTTPS: reads a channel's webhook URL from Secrets Manager (kept for the container's life), POSTs
 * the JSON body with a timeout and no redirects, and sorts the answer: 2xx delivered; 429 and 5xx (and no answer at
 * all) `ChatDeliveryRetryableError` with the `Retry-After` to honour; anything else `ChatDeliveryRejectedError`.
 * A 401, 403, 404 or 410 may mean the URL was revoked and replaced: the secret is read again past every cache, and
 * when it now holds another URL the message is posted there once before it counts as refused. The
 * URL is a credential (whoever holds it can post to the channel): no error, log line or cause ever holds it, nor
 * more of a response body than a short sanitised excerpt.
 */
import { type Clock, systemClock } from '../../domain/ports';
import { ChatDeliveryRejectedError, ChatDeliveryRetryableError } from '../../use-cases/port-errors';
import type { ChatChannelRef, ChatSender } from '../../use-cases/ports';

/** Back-off when a retryable answer names none. */
export const DEFAULT_RETRY_AFTER_SECONDS = 30;
/** The longest back-off honoured: a `Retry-After` further away is taken as this. */
export const MAX_RETRY_AFTER_SECONDS = 3600;
/** How long one POST may take. */
export const DEFAULT_WEBHOOK_TIMEOUT_MS = 10_000;

export interface WebhookChatSenderOptions {
  /**
   * Reads a secret's string value (the project's `Keyring.text`); with `forceFetch` from Secrets Manager itself,
   * past any cache.
   */
  readSecret: (secretId: string, options?: { forceFetch?: boolean }) => Promise<string>;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  /** @default DEFAULT_WEBHOOK_TIMEOUT_MS */
  timeoutMs?: number;
  /** For `Retry-After` given as an HTTP date. @default systemClock */
  clock?: Clock;
}

/**
 * Seconds to wait from a `Retry-After` value at `now`: delay-seconds or an HTTP date (RFC 9110 §10.2.3), bounded
 * by {@link MAX_RETRY_AFTER_SECONDS}; `undefined` when absent or unreadable.
 */
export function parseRetryAfter(value: string | null | undefined, now: Date): number | undefined {
  const text = value?.trim();
  if (!text) return undefined;
  if (/^\d+$/.test(text)) return Math.min(Number(text), MAX_RETRY_AFTER_SECONDS);
  // An HTTP date names its weekday and zone; a bare number or other words are not one.
  if (!/^[A-Za-z]{3},? .*\d{2}:\d{2}:\d{2} (GMT|UTC)$/.test(text)) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(0, Math.ceil((at - now.getTime()) / 1000)), MAX_RETRY_AFTER_SECONDS);
}

/** At most 100 printable ASCII characters of `text`, with anything URL-like (and long tokens) replaced. */
export function sanitizedExcerpt(text: string): string {
  return text
    .replace(/[^\x20-\x7e]+/g, ' ')
    .replace(/[a-z][a-z0-9+.-]*:\/\/\S*/gi, '[url]')
    .replace(/\S{41,}/g, '[…]')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 100);
}

const isLoopback = (host: string) => host === '127.0.0.1' || host === 'localhost' || host === '[::1]';

/**
 * Answers a revoked, rotated or deleted webhook gives (Slack: 403 `invalid_token`, 404 `no_service`, 410
 * `channel_is_archived`): the secret may by now hold its replacement.
 */
const STALE_URL_STATUSES = new Set([401, 403, 404, 410]);

/** Posts chat messages to the webhooks whose URLs the channels' secrets hold. */
export class WebhookChatSender implements ChatSender {
  private readonly urls = new Map<string, Promise<URL>>();
  private readonly fetch: typeof fetch;
  private readonly timeoutMs: number;
  private readonly clock: Clock;

  constructor(private readonly options: WebhookChatSenderOptions) {
    this.fetch = options.fetch ?? globalThis.fetch;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_WEBHOOK_TIMEOUT_MS;
    this.clock = options.clock ?? systemClock;
  }

  async send(channel: ChatChannelRef, body: object): Promise<void> {
    const secretName = channel.webhookSecretName;
    const where = `${channel.kind} webhook (secret ${secretName})`;
    const url = await this.url(secretName, where);
    let response = await this.post(url, body, where);
    if (STALE_URL_STATUSES.has(response.status)) {
      const refusal = await this.refusal(response, where);
      // A failed read throws (and leaves no URL kept): the message is tried again later rather than lost.
      const current = await this.url(secretName, where, true);
      if (current.href === url.href) throw refusal;
      response = await this.post(current, body, where);
    }
    const { status } = response;
    if (status >= 200 && status < 300) {
      await response.body?.cancel();
      return;
    }
    if (status === 429 || status >= 500) {
      await response.body?.cancel();
      const wait = parseRetryAfter(response.headers.get('retry-after'), this.clock.now());
      throw new ChatDeliveryRetryableError(`${where} answered ${status}`, wait ?? DEFAULT_RETRY_AFTER_SECONDS, status);
    }
    throw await this.refusal(response, where);
  }

  /** POSTs `body` to `url`; no answer at all is a `ChatDeliveryRetryableError`. */
  private async post(url: URL, body: object, where: string): Promise<Response> {
    try {
      return await this.fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
        redirect: 'manual',
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (error) {
      // No cause: network errors name the host and path they failed on.
      // A DOMException (the timeout) is not always an `Error` of this realm; its name is all that is kept.
      const named = (error as { name?: unknown } | undefined)?.name;
      const name = typeof named === 'string' && /^[A-Za-z]{1,40}$/.test(named) ? named : 'Error';
      throw new ChatDeliveryRetryableError(`${where} did not answer (${name})`, DEFAULT_RETRY_AFTER_SECONDS);
    }
  }

  /** The refusal `response` stands for, with a short sanitised excerpt of its body (the rest is not read). */
  private async refusal(response: Response, where: string): Promise<ChatDeliveryRejectedError> {
    const { status } = response;
    const excerpt = sanitizedExcerpt(await readStart(response, 512));
    return new ChatDeliveryRejectedError(
      `${where} refused the message: ${status}${excerpt ? ` ${excerpt}` : ''}`,
      status,
      excerpt || undefined,
    );
  }

  /**
   * The webhook URL, read once per container, or with `fresh` read again past every cache (and kept in place of
   * the one before); a failed or unusable read is not kept.
   */
  private url(secretName: string, where: string, fresh = false): Promise<URL> {
    let url = fresh ? undefined : this.urls.get(secretName);
    if (!url) {
      const read = fresh
        ? this.options.readSecret(secretName, { forceFetch: true })
        : this.options.readSecret(secretName);
      const parsing = read.then((value) => {
        let parsed: URL;
        try {
          parsed = new URL(value.trim());
        } catch {
          throw new ChatDeliveryRejectedError(`${where}: the secret holds no URL`, 0);
        }
        const secure = parsed.protocol === 'https:' || (parsed.protocol === 'http:' && isLoopback(parsed.hostname));
        if (!secure) throw new ChatDeliveryRejectedError(`${where}: the secret holds no https URL`, 0);
        return parsed;
      });
      url = parsing;
      // Only this read's own entry is dropped: a later read may have taken its place meanwhile.
      parsing.catch(() => {
        if (this.urls.get(secretName) === parsing) this.urls.delete(secretName);
      });
      this.urls.set(secretName, parsing);
    }
    return url;
  }
}

/** The first `max` bytes of a body as text (the rest is not read). */
async function readStart(response: Response, max: number): Promise<string> {
  const reader = response.body?.getReader();
  if (!reader) return '';
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < max) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } catch {
    return '';
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, max).toString('utf8');
}
