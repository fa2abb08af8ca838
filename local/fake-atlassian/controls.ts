/**
 * Test controls of the fake Atlassian (local only): injected faults, a global rate limit, members' personal
 * tokens and policy moves made as a member or an admin would in Atlassian's own pages.
 */
import { z } from 'zod';

/** Names of the fake's Atlassian routes, as used by `POST /__control/faults`. */
export const FAKE_ROUTE_NAMES = [
  'mint',
  'list',
  'revoke',
  'myself',
  'inventory',
  'inventory_count',
  'search',
  'tenant_info',
  'add_users',
  'task',
  'bulk_fetch',
] as const;
export type FakeRouteName = (typeof FAKE_ROUTE_NAMES)[number];

/** Body of `POST /__control/faults`. */
export const faultRequestSchema = z
  .object({
    route: z.enum([...FAKE_ROUTE_NAMES, '*']),
    status: z
      .number()
      .int()
      .refine((s) => s === 0 || (s >= 400 && s <= 599), 'status must be 0 or 400-599')
      .optional(),
    count: z.number().int().min(1).max(10_000),
    retryAfterSeconds: z.number().int().min(0).max(86_400).optional(),
    delayMs: z.number().int().min(0).max(300_000).optional(),
  })
  .strict()
  .refine((f) => (f.status ?? 0) !== 0 || (f.delayMs ?? 0) > 0, 'give a status (400-599) or a delayMs above 0');

export type FaultRequest = z.infer<typeof faultRequestSchema>;

/** Body of `POST /__control/rate-limit`. */
export const rateLimitRequestSchema = z.object({ perSecond: z.number().min(0).max(100_000) }).strict();

const SCOPE_PATTERN = /^[a-z]+:[a-z0-9._:-]+$/;

/** Body of `POST /__control/personal-tokens`: a token as the member would create it in id.atlassian.com. */
export const personalTokenRequestSchema = z
  .object({
    email: z.string().min(3).max(320),
    label: z.string().trim().min(1).max(255),
    /** Absent or `[]`: an unscoped (classic) token. */
    scopes: z
      .array(z.string().regex(SCOPE_PATTERN))
      .max(50)
      .refine((s) => new Set(s).size === s.length, 'scopes must be distinct')
      .optional(),
    /** Days from now; default 365 days from creation. */
    expiresInDays: z.number().int().min(1).max(365).optional(),
    /** Created this many days ago: a token that predates a block, so the block does not refuse it. */
    createdDaysAgo: z.number().int().min(0).max(3650).optional(),
  })
  .strict();

/** Body of `POST /__control/policies/{policyId}/members`. */
export const policyMemberRequestSchema = z.object({ email: z.string().min(3).max(320) }).strict();

/** A queued fault: the next `remaining` requests to `route` are answered `status` and/or delayed. */
export interface Fault {
  readonly route: FakeRouteName | '*';
  /** 0: no error, only the delay. */
  readonly status: number;
  remaining: number;
  readonly retryAfterSeconds?: number;
  readonly delayMs?: number;
}

/** Faults in the order they were queued; the first one matching a request is consumed. */
export class FaultQueue {
  private faults: Fault[] = [];

  add(request: FaultRequest): Fault {
    const fault: Fault = {
      route: request.route,
      status: request.status ?? 0,
      remaining: request.count,
      ...(request.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: request.retryAfterSeconds }),
      ...(request.delayMs === undefined ? {} : { delayMs: request.delayMs }),
    };
    this.faults.push(fault);
    return fault;
  }

  take(route: FakeRouteName): Fault | undefined {
    const fault = this.faults.find((f) => f.remaining > 0 && (f.route === '*' || f.route === route));
    if (!fault) return undefined;
    fault.remaining -= 1;
    this.faults = this.faults.filter((f) => f.remaining > 0);
    return fault;
  }

  pending(): readonly Fault[] {
    return this.faults;
  }

  clear(): void {
    this.faults = [];
  }
}

export type BucketResult =
  | { allowed: true; limit?: number; remaining?: number }
  | { allowed: false; limit: number; retryAfterSeconds: number };

/**
 * A token bucket across every Atlassian route: `perSecond` requests per second with bursts of the same size.
 * It runs on wall-clock time, not the simulated clock: it models request rate, which simulated jumps don't change.
 */
export class TokenBucket {
  private perSecond = 0;
  private tokens = 0;
  private lastMs = 0;

  constructor(private readonly wallNowMs: () => number = Date.now) {}

  get limit(): number {
    return this.perSecond;
  }

  /** `0` turns the limit off. */
  configure(perSecond: number): void {
    this.perSecond = perSecond;
    this.tokens = Math.max(1, perSecond);
    this.lastMs = this.wallNowMs();
  }

  take(): BucketResult {
    if (this.perSecond <= 0) return { allowed: true };
    const now = this.wallNowMs();
    const capacity = Math.max(1, this.perSecond);
    this.tokens = Math.min(capacity, this.tokens + ((now - this.lastMs) / 1000) * this.perSecond);
    this.lastMs = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return { allowed: true, limit: this.perSecond, remaining: Math.floor(this.tokens) };
    }
    const waitSeconds = (1 - this.tokens) / this.perSecond;
    return { allowed: false, limit: this.perSecond, retryAfterSeconds: Math.max(1, Math.ceil(waitSeconds)) };
  }
}
