import { createEventBridge, type EventRule, targetInput } from '../../local/aws/eventbridge';
import type { AwsRequest } from '../../local/aws/protocol';

const envelope = {
  version: '0',
  id: 'e-1',
  'detail-type': 'Token Issued',
  source: 'token-warden',
  account: '000000000000',
  time: '2026-12-03T10:00:00Z',
  region: 'us-east-1',
  resources: ['arn:aws:secretsmanager:us-east-1:000000000000:secret:s-1'],
  detail: { type: 'ISSUED', tokenId: 'tok-1', generation: 2 },
};

function putEvents(entries: Record<string, unknown>[]): AwsRequest {
  return {
    method: 'POST',
    path: '/',
    query: new URLSearchParams(),
    headers: {},
    body: Buffer.from(JSON.stringify({ Entries: entries })),
    target: 'AWSEvents.PutEvents',
  };
}

describe('EventBridge targets', () => {
  it.each([
    ['the whole event without Input settings', { id: 't', arn: 'q' }, envelope],
    ['the InputPath part', { id: 't', arn: 'q', inputPath: '$.detail' }, envelope.detail],
    ['an array element by InputPath', { id: 't', arn: 'q', inputPath: '$.resources[0]' }, envelope.resources[0]],
    ['the constant Input', { id: 't', arn: 'q', input: '{"fixed":true}' }, { fixed: true }],
    [
      'the InputTransformer template',
      {
        id: 't',
        arn: 'q',
        inputTransformer: {
          inputPathsMap: { token: '$.detail.tokenId', gen: '$.detail.generation' },
          inputTemplate:
            '{"token": <token>, "text": "Token <token> is at generation <gen>", "gen": <gen>, "rule": <aws.events.rule-name>}',
        },
      },
      { token: 'tok-1', text: 'Token tok-1 is at generation 2', gen: 2, rule: 'notify' },
    ],
    [
      'a text InputTransformer template',
      {
        id: 't',
        arn: 'q',
        inputTransformer: { inputPathsMap: { token: '$.detail.tokenId' }, inputTemplate: '"Token <token> issued"' },
      },
      'Token tok-1 issued',
    ],
  ])('sends %s', (_label, target, expected) => {
    // Act
    const text = targetInput(target, envelope, { name: 'notify' });

    // Assess
    expect(JSON.parse(text)).toEqual(expected);
  });

  it('delivers an accepted event to the matching rules of its bus only', async () => {
    // Prepare
    const delivered: { rule: string; body: Record<string, unknown> }[] = [];
    const events = createEventBridge({
      deliver: (_target, text, rule) => delivered.push({ rule: rule.name, body: JSON.parse(text) }),
    });
    const rule = (name: string, eventBusName: string, type: string): EventRule => ({
      name,
      eventBusName,
      pattern: { detail: { type: [type] } },
      targets: [{ id: 'q', arn: 'arn:aws:sqs:us-east-1:000000000000:q' }],
    });
    events.setRules([
      rule('match', 'token-warden', 'ISSUED'),
      rule('other-bus', 'default', 'ISSUED'),
      rule('other-type', 'token-warden', 'REVOKED'),
    ]);

    // Act
    await events.handle(
      putEvents([
        {
          EventBusName: 'arn:aws:events:us-east-1:000000000000:event-bus/token-warden',
          Source: 'token-warden',
          DetailType: 'Token Issued',
          Detail: JSON.stringify({ type: 'ISSUED' }),
        },
      ]),
    );

    // Assess
    expect(delivered).toEqual([
      { rule: 'match', body: expect.objectContaining({ source: 'token-warden', detail: { type: 'ISSUED' } }) },
    ]);
    expect(delivered[0]?.body).not.toHaveProperty('eventBusName');
  });
});
