/**
 * `ChatSender` over HTTPS: reads a channel's webhook URL from Secrets Manager (once per container), POSTs the JSON
 * body with a timeout and no redirects, and sorts the answer: 2xx delivered; 429 and 5xx (and no answer at all)
 * `ChatDeliveryRetryableError` with the `Retry-After` to honour; anything else `ChatDeliveryRejectedError`. The
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
  /** Reads a secret's string value (the project's `Keyring.text`). */
  readSecret: (secretId: string) => Promise<string>;
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
    const where = `${channel.kind} webhook (secret ${channel.webhookSecretName})`;
    const url = await this.url(channel.webhookSecretName, where);
    let response: Response;
    try {
      response = await this.fetch(url, {
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
    // 404 and 410 mean the webhook is gone: forget the URL so a corrected secret is read on the next message.
    if (status === 404 || status === 410) this.urls.delete(channel.webhookSecretName);
    const excerpt = sanitizedExcerpt(await readStart(response, 512));
    throw new ChatDeliveryRejectedError(
      `${where} refused the message: ${status}${excerpt ? ` ${excerpt}` : ''}`,
      status,
      excerpt || undefined,
    );
  }

  /** The webhook URL, read once per container; a failed or unusable read is not kept. */
  private url(secretName: string, where: string): Promise<URL> {
    let url = this.urls.get(secretName);
    if (!url) {
      url = this.options.readSecret(secretName).then((value) => {
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
      url.catch(() => this.urls.delete(secretName));
      this.urls.set(secretName, url);
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
