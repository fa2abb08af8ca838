import { EventStreamSerde, eventStreamSerdeProvider } from '../../../functions/bundling/no-event-streams';

describe('event-stream stand-in (bundled in place of @smithy/core/event-streams)', () => {
  it('fails any use, naming the cause', () => {
    expect(() => eventStreamSerdeProvider()).toThrow('event streams are not bundled into the Token Warden functions');
    expect(() => new EventStreamSerde()).toThrow('event streams are not bundled into the Token Warden functions');
  });
});
