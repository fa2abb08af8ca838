/**
 * Stands in for `@smithy/core/event-streams` in the Lambda bundles: `WardenFunction` (lib/warden-function.ts)
 * aliases that module to this one. The SDK loads it lazily, only for an operation whose input or output is an event
 * stream; none of the operations the functions call has one (DynamoDB, Step Functions, Secrets Manager, SES v2,
 * EventBridge and EventBridge Scheduler), so the event-stream codecs stay out of the bundles. Should an operation
 * with an event stream ever be called, it fails here, naming the cause, instead of sending anything.
 */
function unsupported(): never {
  throw new Error(
    'event streams are not bundled into the Token Warden functions (see functions/bundling/no-event-streams.ts)',
  );
}

export class EventStreamSerde {
  constructor() {
    unsupported();
  }
}

export const eventStreamSerdeProvider = (): never => unsupported();
