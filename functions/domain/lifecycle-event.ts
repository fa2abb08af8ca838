/**
 * A lifecycle event as EventBridge delivers it (docs/events.md): the envelope and, in `detail`, the audit record it
 * publishes. Pure: the schema the notifier validates each delivered message with.
 */
import { AUDIT_EVENTS } from './records';
import * as z from './schema';

const id = z.string().check(z.minLength(1), z.maxLength(1024));
const detailValue = z.union([z.string(), z.number(), z.boolean(), z.array(z.string())]);

/** `detail`: the audit record, with the `eventId` consumers deduplicate on. */
export const lifecycleDetailSchema = z.object({
  eventId: id,
  event: z.enum(AUDIT_EVENTS),
  correlationId: id,
  requestId: id,
  tokenId: z.optional(id),
  serviceAccount: z.optional(id),
  actor: z.string().check(z.maxLength(1024)),
  at: z.string().check(z.maxLength(64)),
  details: z.optional(z.record(z.string(), detailValue)),
});

/** The EventBridge envelope of a lifecycle event (`source` `token-warden`). */
export const lifecycleEventSchema = z.object({
  id,
  'detail-type': z.string().check(z.minLength(1), z.maxLength(128)),
  source: z.literal('token-warden'),
  time: z.string().check(z.maxLength(64)),
  detail: lifecycleDetailSchema,
});

export type LifecycleEvent = z.output<typeof lifecycleEventSchema>;
export type LifecycleEventDetail = LifecycleEvent['detail'];
