import {
  defaultPolicy,
  ENTRIES,
  functionId,
  issuanceDefinition,
  type Synthesized,
  synth,
  type TemplateJson,
  writePolicy,
} from './support/synth';

type State = TemplateJson;

// The house rules both workflows share (Standard, logging, tracing, JSONPath, asl-validator, retries) are in
// workflows.test.ts.
describe('IssuanceWorkflow', () => {
  let s: Synthesized;
  let asl: { StartAt: string; States: Record<string, State>; QueryLanguage?: string };
  const lambdaArn = (entry: string) => `arn:aws:lambda:us-east-1:000000000000:function:${functionId(s, entry)}`;
  const state = (name: string): State => {
    const found = asl.States[name];
    if (!found) throw new Error(`no state ${name}`);
    return found;
  };

  beforeAll(() => {
    s = synth();
    asl = issuanceDefinition(s) as typeof asl;
  });

  it('has exactly the states of docs/architecture.md', () => {
    expect(asl.StartAt).toBe('Request approval');
    expect(Object.keys(asl.States).sort()).toEqual(
      [
        'Approved?',
        'Close rejected request',
        'Discard staged token',
        'Expire request',
        'Fail request',
        'Issuance failed',
        'Mint token',
        'Promote token',
        'Request approval',
        'Token issued',
        'Uploaded by an admin?',
        'Verify token',
        'Wait for token upload',
      ].sort(),
    );
  });

  it('makes every Task a Lambda invoke through the optimized integration', () => {
    const tasks = Object.entries(asl.States).filter(([, st]) => st.Type === 'Task');
    expect(tasks).toHaveLength(9);
    for (const [name, st] of tasks) {
      const expected =
        name === 'Request approval' || name === 'Wait for token upload'
          ? 'arn:aws:states:::lambda:invoke.waitForTaskToken'
          : 'arn:aws:states:::lambda:invoke';
      expect({ name, resource: st.Resource }).toEqual({ name, resource: expected });
      expect(st.Parameters.FunctionName).toMatch(/^arn:aws:lambda:us-east-1:000000000000:function:/);
    }
  });

  it('waits for the approvals on a task token for approvalExpiryHours', () => {
    expect(state('Request approval')).toMatchObject({
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      TimeoutSeconds: 72 * 3600,
      ResultPath: '$.approval',
      Parameters: {
        FunctionName: lambdaArn(ENTRIES.requestApproval),
        Payload: { 'requestId.$': '$.requestId', 'taskToken.$': '$$.Task.Token' },
      },
      Next: 'Approved?',
    });
    expect(state('Request approval').HeartbeatSeconds).toBeUndefined();
  });

  it('takes the task timeout from the policy', () => {
    const policy = defaultPolicy();
    policy.approvalExpiryHours = 5;
    const other = issuanceDefinition(synth({ policy: writePolicy(policy) }));
    expect(other.States['Request approval'].TimeoutSeconds).toBe(5 * 3600);
    expect(other.States['Wait for token upload'].TimeoutSeconds).toBe(5 * 3600);
  });

  it('expires the request on States.Timeout and fails it on any other error', () => {
    expect(state('Request approval').Catch).toEqual([
      { ErrorEquals: ['States.Timeout'], ResultPath: '$.error', Next: 'Expire request' },
      { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Fail request' },
    ]);
    expect(state('Expire request')).toMatchObject({
      End: true,
      Parameters: {
        FunctionName: lambdaArn(ENTRIES.closeRequest),
        Payload: { 'requestId.$': '$.requestId', outcome: 'EXPIRED' },
      },
    });
  });

  it('mints only when the approval outcome is APPROVED, otherwise closes the request', () => {
    expect(state('Approved?')).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.approval.outcome', StringEquals: 'APPROVED', Next: 'Mint token' }],
      Default: 'Close rejected request',
    });
    expect(state('Close rejected request')).toMatchObject({
      End: true,
      Parameters: {
        FunctionName: lambdaArn(ENTRIES.closeRequest),
        Payload: { 'requestId.$': '$.requestId', 'outcome.$': '$.approval.outcome' },
      },
    });
  });

  it('chains mint → verify → promote, passing ids only', () => {
    expect(state('Mint token')).toMatchObject({
      Parameters: { FunctionName: lambdaArn(ENTRIES.mintToken), Payload: { 'requestId.$': '$.requestId' } },
      Next: 'Uploaded by an admin?',
    });
    expect(state('Verify token')).toMatchObject({
      Parameters: { FunctionName: lambdaArn(ENTRIES.verifyToken), 'Payload.$': '$.minted' },
      ResultPath: null,
      Next: 'Promote token',
    });
    expect(state('Promote token')).toMatchObject({
      Parameters: { FunctionName: lambdaArn(ENTRIES.promoteToken), 'Payload.$': '$.minted' },
      ResultPath: null,
      Next: 'Token issued',
    });
    expect(state('Token issued')).toEqual({ Type: 'Succeed' });
  });

  it("adds Mint's ids at $.minted, picked one by one, and keeps the rest of the state", () => {
    const mint = state('Mint token');
    expect({ selector: mint.ResultSelector, resultPath: mint.ResultPath, outputPath: mint.OutputPath }).toEqual({
      selector: {
        'requestId.$': '$.Payload.requestId',
        'tokenId.$': '$.Payload.tokenId',
        'generation.$': '$.Payload.generation',
        'versionId.$': '$.Payload.versionId',
        'manual.$': '$.Payload.manual',
      },
      resultPath: '$.minted',
    });
  });

  it('waits for an admin upload when Mint says manual, otherwise verifies at once', () => {
    expect(state('Uploaded by an admin?')).toEqual({
      Type: 'Choice',
      Choices: [{ Variable: '$.minted.manual', BooleanEquals: true, Next: 'Wait for token upload' }],
      Default: 'Verify token',
    });
  });

  it('waits on a task token of request-upload for approvalExpiryHours, keeping the state, then verifies', () => {
    expect(state('Wait for token upload')).toMatchObject({
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      TimeoutSeconds: 72 * 3600,
      ResultPath: null,
      Parameters: {
        FunctionName: lambdaArn(ENTRIES.requestUpload),
        Payload: {
          'tokenId.$': '$.minted.tokenId',
          'generation.$': '$.minted.generation',
          'requestId.$': '$.minted.requestId',
          'taskToken.$': '$$.Task.Token',
        },
      },
      Next: 'Verify token',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Discard staged token' }],
    });
    expect(state('Wait for token upload').HeartbeatSeconds).toBeUndefined();
    expect(state('Wait for token upload').OutputPath).toBeUndefined();
    expect(state('Wait for token upload').ResultSelector).toBeUndefined();
  });

  it('sends every minting failure through Discard staged token, then Fail request, then Fail', () => {
    for (const name of ['Mint token', 'Wait for token upload', 'Verify token', 'Promote token']) {
      expect({ name, catch: state(name).Catch }).toEqual({
        name,
        catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Discard staged token' }],
      });
    }
    expect(state('Discard staged token')).toMatchObject({
      Parameters: { FunctionName: lambdaArn(ENTRIES.discardToken), 'Payload.$': '$' },
      ResultPath: null,
      Next: 'Fail request',
      Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.discardError', Next: 'Fail request' }],
    });
    expect(state('Fail request')).toMatchObject({
      Parameters: {
        FunctionName: lambdaArn(ENTRIES.closeRequest),
        Payload: { 'requestId.$': '$.requestId', outcome: 'FAILED', 'error.$': '$.error' },
      },
      Next: 'Issuance failed',
    });
    expect(state('Issuance failed')).toMatchObject({ Type: 'Fail', Error: 'IssuanceFailed' });
  });
});
