// biome-ignore-all lint/suspicious/noTemplateCurlyInString: these strings are CloudFormation Fn::Sub templates
import {
  defaultIdentities,
  type ResolveContext,
  resolveStateMachineDefinition,
  resolveString,
  resolveValue,
  UnresolvableError,
} from '../../lib/synth/resolve-template';

const ctx: ResolveContext = {
  region: 'eu-west-1',
  accountId: '123456789012',
  resources: {
    Fn: { ref: 'fn-name', attributes: { Arn: 'arn:aws:lambda:eu-west-1:123456789012:function:fn-name' } },
    Table: { ref: 'records' },
  },
};

describe('resolveValue', () => {
  it('resolves pseudo parameters, with defaults for partition, URL suffix and stack name', () => {
    expect(
      resolveValue(
        ['AWS::Partition', 'AWS::Region', 'AWS::AccountId', 'AWS::URLSuffix', 'AWS::StackName'].map((Ref) => ({ Ref })),
        ctx,
      ),
    ).toEqual(['aws', 'eu-west-1', '123456789012', 'amazonaws.com', 'TokenWarden']);
    expect(resolveValue({ Ref: 'AWS::Partition' }, { ...ctx, partition: 'aws-cn' })).toBe('aws-cn');
  });

  it('resolves Ref and Fn::GetAtt (list and dotted forms) from the identities', () => {
    expect(resolveValue({ Ref: 'Table' }, ctx)).toBe('records');
    expect(resolveValue({ 'Fn::GetAtt': ['Fn', 'Arn'] }, ctx)).toBe(
      'arn:aws:lambda:eu-west-1:123456789012:function:fn-name',
    );
    expect(resolveValue({ 'Fn::GetAtt': 'Fn.Arn' }, ctx)).toBe(
      'arn:aws:lambda:eu-west-1:123456789012:function:fn-name',
    );
  });

  it('resolves Fn::Join, Fn::Split and Fn::Select, nested', () => {
    const arn = { 'Fn::Join': [':', ['arn', { Ref: 'AWS::Partition' }, 'sqs', { Ref: 'AWS::Region' }, 'q']] };
    expect(resolveValue(arn, ctx)).toBe('arn:aws:sqs:eu-west-1:q');
    expect(resolveValue({ 'Fn::Select': [3, { 'Fn::Split': [':', arn] }] }, ctx)).toBe('eu-west-1');
  });

  it('resolves Fn::Sub with references, attributes, pseudo parameters, variables and escapes', () => {
    expect(
      resolveValue(
        { 'Fn::Sub': ['${Fn.Arn}|${Table}|${AWS::Region}|${Name}|${!Literal}', { Name: { Ref: 'Table' } }] },
        ctx,
      ),
    ).toBe('arn:aws:lambda:eu-west-1:123456789012:function:fn-name|records|eu-west-1|records|${Literal}');
    expect(resolveValue({ 'Fn::Sub': 'https://${AWS::Region}.${AWS::URLSuffix}' }, ctx)).toBe(
      'https://eu-west-1.amazonaws.com',
    );
  });

  it('walks objects and arrays, leaving plain values as they are', () => {
    expect(resolveValue({ a: [1, true, null, { b: { Ref: 'Table' } }], c: 'x' }, ctx)).toEqual({
      a: [1, true, null, { b: 'records' }],
      c: 'x',
    });
  });

  it('names what it cannot resolve', () => {
    expect(() => resolveValue({ Ref: 'Nope' }, ctx)).toThrow(new UnresolvableError('Ref to unknown logical id Nope'));
    expect(() => resolveValue({ 'Fn::GetAtt': ['Table', 'Arn'] }, ctx)).toThrow(
      'Fn::GetAtt Table.Arn: attribute not known',
    );
    expect(() => resolveValue({ 'Fn::If': ['C', 1, 2] }, ctx)).toThrow('unsupported intrinsic Fn::If');
    expect(() => resolveString({ a: 1 }, ctx)).toThrow(UnresolvableError);
  });
});

describe('defaultIdentities', () => {
  it('derives names and ARNs per resource type, preferring explicit physical names', () => {
    const identities = defaultIdentities(
      {
        Resources: {
          Fn: { Type: 'AWS::Lambda::Function' },
          Named: { Type: 'AWS::Lambda::Function', Properties: { FunctionName: 'my-fn' } },
          Records: { Type: 'AWS::DynamoDB::Table' },
          Machine: { Type: 'AWS::StepFunctions::StateMachine', Properties: { StateMachineName: 'm' } },
          Secret: { Type: 'AWS::SecretsManager::Secret', Properties: { Name: 'a/b' } },
          Api: { Type: 'AWS::ApiGatewayV2::Api' },
          Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'w-events' } },
          Group: { Type: 'AWS::Scheduler::ScheduleGroup', Properties: { Name: 'w-rotations' } },
          Other: { Type: 'AWS::SNS::Subscription' },
        },
      },
      { region: 'us-east-1', accountId: '000000000000' },
    );
    expect(identities).toMatchObject({
      Fn: { ref: 'Fn', attributes: { Arn: 'arn:aws:lambda:us-east-1:000000000000:function:Fn' } },
      Named: { ref: 'my-fn', attributes: { Arn: 'arn:aws:lambda:us-east-1:000000000000:function:my-fn' } },
      Records: { ref: 'Records', attributes: { Arn: 'arn:aws:dynamodb:us-east-1:000000000000:table/Records' } },
      Machine: { ref: 'arn:aws:states:us-east-1:000000000000:stateMachine:m', attributes: { Name: 'm' } },
      Secret: { ref: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:a/b' },
      Api: { attributes: { ApiEndpoint: 'https://Api.execute-api.us-east-1.amazonaws.com' } },
      Bus: {
        ref: 'w-events',
        attributes: { Arn: 'arn:aws:events:us-east-1:000000000000:event-bus/w-events', Name: 'w-events' },
      },
      Group: {
        ref: 'w-rotations',
        attributes: { Arn: 'arn:aws:scheduler:us-east-1:000000000000:schedule-group/w-rotations' },
      },
      Other: { ref: 'Other' },
    });
  });
});

describe('resolveStateMachineDefinition', () => {
  it('joins DefinitionString and applies DefinitionSubstitutions', () => {
    const definition = resolveStateMachineDefinition(
      {
        Type: 'AWS::StepFunctions::StateMachine',
        Properties: {
          DefinitionString: {
            'Fn::Join': [
              '',
              [
                '{"StartAt":"A","States":{"A":{"Type":"Task","Resource":"',
                { 'Fn::GetAtt': ['Fn', 'Arn'] },
                '","Comment":"${c}","End":true}}}',
              ],
            ],
          },
          DefinitionSubstitutions: { c: { Ref: 'Table' } },
        },
      },
      ctx,
    );
    expect(definition).toEqual({
      StartAt: 'A',
      States: {
        A: {
          Type: 'Task',
          Resource: 'arn:aws:lambda:eu-west-1:123456789012:function:fn-name',
          Comment: 'records',
          End: true,
        },
      },
    });
  });

  it('refuses other resource types', () => {
    expect(() => resolveStateMachineDefinition({ Type: 'AWS::Lambda::Function' }, ctx)).toThrow(
      'expected AWS::StepFunctions::StateMachine, got AWS::Lambda::Function',
    );
  });
});
