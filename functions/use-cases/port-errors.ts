/**
 * The errors use cases and workflows tell apart: those the use cases raise, and those the ports raise (adapters
 * translate SDK and HTTP failures into them). Workflow `Retry`/`Catch` rules match on `name`, so each class sets
 * its name to exactly the class name and those names are part of the workflow contract (lib/workflow-parts.ts
 * `TRANSIENT_ERRORS`).
 *
 * Messages name the route or operation and the status only: never a token value, the org key, or a response body.
 */

// ---- raised by the use cases themselves: the workflows' Catch takes them, no Retry matches them

/** A request that can no longer be issued under the current policy, or is in the wrong state. Not retried. */
export class IssuanceRefusedError extends Error {
  override readonly name = 'IssuanceRefusedError';
}

/**
 * Secrets Manager asked for a rotation Token Warden does not run now (a workflow rotation holds the lock, the previous
 * generation is in its grace period, the token is revoked or expired, the account is issued by hand), or for a step
 * of a rotation that never began. The message names the token and the reason, never a value.
 */
export class RotationRefusedError extends Error {
  override readonly name = 'RotationRefusedError';
}

/** The minted token did not pass verification. Not retried: the token is discarded. */
export class TokenVerificationError extends Error {
  override readonly name = 'TokenVerificationError';
}

// ---- raised by the adapters

/** A retryable AWS failure (throttling, 5xx, network). Step Functions `Retry` matches on this name. */
export class AwsTransientError extends Error {
  override readonly name = 'AwsTransientError';
}

/** The sign-in did not prove an identity (refused code, bad ID token): the approver sees the message. */
export class SignInRefused extends Error {
  override readonly name = 'SignInRefused';
}

/** The identity provider could not be reached or answered something unusable: worth retrying later. */
export class SignInUnavailable extends Error {
  override readonly name = 'SignInUnavailable';
}

/** One violated field of a `fieldConstraintsViolated` answer, e.g. `{ field: 'expiry', keys: ['INVALID_EXPIRY'] }`. */
export interface AtlassianFieldViolation {
  readonly field: string;
  readonly keys: readonly string[];
}

/** What an Atlassian failure carries besides its message. */
export interface AtlassianErrorDetails {
  /** HTTP status, when a response arrived. */
  status?: number;
  /** Atlassian's error key (`unauthorized`, `notFound`, `fieldConstraintsViolated`, ...). */
  key?: string;
  /** How long Atlassian asked the caller to wait (Retry-After / X-RateLimit-Reset), in ms. */
  retryAfterMs?: number;
  /** Field violations of a 400 answer. */
  violations?: readonly AtlassianFieldViolation[];
  cause?: unknown;
}

/** Base of every Atlassian error (use the subclasses' `name` for workflow matching). */
export abstract class AtlassianError extends Error {
  readonly status?: number;
  readonly key?: string;
  readonly retryAfterMs?: number;
  readonly violations?: readonly AtlassianFieldViolation[];

  constructor(message: string, details: AtlassianErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    if (details.status !== undefined) this.status = details.status;
    if (details.key !== undefined) this.key = details.key;
    if (details.retryAfterMs !== undefined) this.retryAfterMs = details.retryAfterMs;
    if (details.violations !== undefined) this.violations = details.violations;
  }
}

/** 429, 5xx, timeout or network failure: trying again later may succeed. */
export class AtlassianTransientError extends AtlassianError {
  override readonly name = 'AtlassianTransientError';
}

/** 401/403 on an admin route: the org API key is wrong, expired, or was created with scopes. */
export class AtlassianAuthError extends AtlassianError {
  override readonly name = 'AtlassianAuthError';
}

/** 404: the account, org, site or route does not exist. */
export class AtlassianNotFoundError extends AtlassianError {
  override readonly name = 'AtlassianNotFoundError';
}

/** Any other refusal (4xx), e.g. `fieldConstraintsViolated` with `INVALID_EXPIRY`. Retrying will not help. */
export class AtlassianRequestError extends AtlassianError {
  override readonly name = 'AtlassianRequestError';
}

/** A 2xx whose body is not the documented shape (HTML, truncated JSON, missing `id` or `token`). */
export class AtlassianMalformedResponseError extends AtlassianError {
  override readonly name = 'AtlassianMalformedResponseError';
}

// ---- chat webhooks (`ChatSender`): messages name the channel's kind and secret, never the webhook URL

/** A message that could not go out now: the notifier delivers its event again after `retryAfterSeconds`. */
export class DeliveryRetryableError extends Error {
  override readonly name: string = 'DeliveryRetryableError';
  constructor(
    message: string,
    /** When to try again. */
    readonly retryAfterSeconds: number,
  ) {
    super(message);
  }
}

/**
 * One error for several failed deliveries of an event: the first that is no back-off, else the back-off with the
 * longest wait (so the event comes back when every delivery may go).
 */
export function oneFailure(failures: readonly unknown[]): unknown {
  const other = failures.find((f) => !(f instanceof DeliveryRetryableError));
  if (other !== undefined) return other;
  const retryable = failures as DeliveryRetryableError[];
  return retryable.reduce((longest, f) => (f.retryAfterSeconds > longest.retryAfterSeconds ? f : longest));
}

/** 429, 5xx, timeout or network failure of a chat webhook: send again after `retryAfterSeconds`. */
export class ChatDeliveryRetryableError extends DeliveryRetryableError {
  override readonly name = 'ChatDeliveryRetryableError';
  constructor(
    message: string,
    /** When to try again: the webhook's `Retry-After`, else a default back-off. */
    override readonly retryAfterSeconds: number,
    /** The HTTP status, when a response arrived. */
    readonly status?: number,
  ) {
    super(message, retryAfterSeconds);
  }
}

/** Any other answer (4xx but 429, or a redirect): the message is refused for good and must not be retried. */
export class ChatDeliveryRejectedError extends Error {
  override readonly name = 'ChatDeliveryRejectedError';
  constructor(
    message: string,
    /** The HTTP status (0 when the secret holds no usable URL). */
    readonly status: number,
    /** The start of the answer, printable ASCII with anything URL-like removed. */
    readonly excerpt?: string,
  ) {
    super(message);
  }
}

// ---- outgoing mail (`Mailer`): messages name the operation and the provider's error, never an address or a body

/** The mail provider refused this message for good (SES `MessageRejected`): sending it again cannot succeed. */
export class EmailRejectedError extends Error {
  override readonly name = 'EmailRejectedError';
}
