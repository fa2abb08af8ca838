import aslValidator from 'asl-validator';
import { StateMachine as LocalStateMachine } from 'aws-local-stepfunctions';
import {
  defaultPolicy,
  ENTRIES,
  functionId,
  MINTING_STATES,
  rotationDefinition,
  type Synthesized,
  synth,
  type TemplateJson,
  writePolicy,
} from './support/synth';

const TOKEN_ID = 'tok_aaaaaaaaaaaaaaaaaaaaaaaaaa';
const REQUEST_ID = 'req_aaaaaaaaaaaaaaaaaaaaaaaaaa';
const INPUT = { tokenId: TOKEN_ID, generation: 3, attempt: 2 };

/** An error as a Lambda reports it: Retry and Catch match on `name`. */
function lambdaError(name: string, message = name): Error {
  const error = new Error(message);
  error.name = name;
  return error;
}

describe('RotationWorkflow', () => {
  let s: Synthesized;
  let asl: { StartAt: string; States: Record<string, TemplateJson> };
  const lambdaArn = (entry: string) => `arn:aws:lambda:us-east-1:000000000000:function:${functionId(s, entry)}`;
  const state = (name: string): TemplateJson => {
    const found = asl.States[name];
    if (!found) throw new Error(`no state ${name}`);
    return found;
  };

  beforeAll(() => {
    s = synth();
    asl = rotationDefinition(s);
  });

  describe('definition', () => {
    it('has exactly the states of docs/architecture.md', () => {
      expect(asl.StartAt).toBe('Retire only?');
      expect(Object.keys(asl.States).sort()).toEqual(
        [
          'Retire only?',
          'Wait grace period to retire',
          'Begin rotation',
          'Proceed?',
          'Nothing to rotate',
          ...MINTING_STATES,
          'Wait grace period',
          'Revoke previous token',
          'Rotated',
          'Previous token not revoked',
          'Record rotation failure',
          'Rotation failed',
        ].sort(),
      );
    });

    it('begins with the input ids and lets the result replace the state', () => {
      expect(state('Begin rotation')).toMatchObject({
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: {
          FunctionName: lambdaArn(ENTRIES.beginRotation),
          Payload: { 'tokenId.$': '$.tokenId', 'generation.$': '$.generation', 'attempt.$': '$.attempt' },
        },
        OutputPath: '$.Payload',
        Next: 'Proceed?',
      });
    });

    it('mints only when Begin rotation says proceed, otherwise succeeds with nothing to rotate', () => {
      expect(state('Proceed?')).toEqual({
        Type: 'Choice',
        Choices: [{ Variable: '$.proceed', BooleanEquals: true, Next: 'Mint token' }],
        Default: 'Nothing to rotate',
      });
      expect(state('Nothing to rotate')).toEqual({ Type: 'Succeed' });
      expect(state('Mint token')).toMatchObject({
        Parameters: {
          FunctionName: lambdaArn(ENTRIES.mintToken),
          Payload: { 'tokenId.$': '$.tokenId', 'generation.$': '$.generation' },
        },
        ResultPath: '$.minted',
      });
    });

    it('retires only, after the grace period, when the input says retire (a rotation Secrets Manager ran)', () => {
      expect(state('Retire only?')).toEqual({
        Type: 'Choice',
        Choices: [
          {
            And: [
              { Variable: '$.retire', IsPresent: true },
              { Variable: '$.retire', BooleanEquals: true },
            ],
            Next: 'Wait grace period to retire',
          },
        ],
        Default: 'Begin rotation',
      });
      expect(state('Wait grace period to retire')).toEqual({
        Type: 'Wait',
        Seconds: 24 * 3600,
        Next: 'Revoke previous token',
      });
    });

    it('waits gracePeriodHours after promotion, then revokes the previous token', () => {
      expect(state('Promote token').Next).toBe('Wait grace period');
      expect(state('Wait grace period')).toEqual({ Type: 'Wait', Seconds: 24 * 3600, Next: 'Revoke previous token' });
      expect(state('Revoke previous token')).toMatchObject({
        Parameters: {
          FunctionName: lambdaArn(ENTRIES.revokePrevious),
          Payload: { 'tokenId.$': '$.tokenId', 'generation.$': '$.generation' },
        },
        ResultPath: null,
        Next: 'Rotated',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: 'Previous token not revoked' }],
      });
      expect(state('Rotated')).toEqual({ Type: 'Succeed' });
      expect(state('Previous token not revoked')).toMatchObject({ Type: 'Fail', Error: 'PreviousTokenNotRevoked' });
    });

    it('takes the grace period from the policy, zero included', () => {
      const policy = defaultPolicy();
      policy.gracePeriodHours = 5;
      const five = rotationDefinition(synth({ policy: writePolicy(policy) }));
      expect(five.States['Wait grace period'].Seconds).toBe(5 * 3600);
      expect(five.States['Wait grace period to retire'].Seconds).toBe(5 * 3600);
      policy.gracePeriodHours = 0;
      const none = rotationDefinition(synth({ policy: writePolicy(policy) }));
      expect(none.States['Wait grace period'].Seconds).toBe(0);
      expect(none.States['Wait grace period to retire'].Seconds).toBe(0);
      expect(aslValidator(none).errorsText('\n')).toBe('');
    });

    it('records a minting failure after discarding the staged token, then fails', () => {
      expect(state('Discard staged token')).toMatchObject({
        Parameters: { FunctionName: lambdaArn(ENTRIES.discardToken), 'Payload.$': '$' },
        ResultPath: null,
        Next: 'Record rotation failure',
        Catch: [{ ErrorEquals: ['States.ALL'], ResultPath: '$.discardError', Next: 'Record rotation failure' }],
      });
      expect(state('Record rotation failure')).toMatchObject({
        Parameters: {
          FunctionName: lambdaArn(ENTRIES.recordRotationFailure),
          Payload: {
            'tokenId.$': '$.tokenId',
            'generation.$': '$.generation',
            'attempt.$': '$.attempt',
            'error.$': '$.error',
          },
        },
        ResultPath: null,
        Next: 'Rotation failed',
      });
      expect(state('Rotation failed')).toMatchObject({ Type: 'Fail', Error: 'RotationFailed' });
    });
  });

  describe('execution (aws-local-stepfunctions, every Lambda faked)', () => {
    type Handler = (payload: TemplateJson) => TemplateJson;

    /** Runs the definition with `handlers` keyed by state name; returns the output and the payloads each got. */
    async function run(handlers: Record<string, Handler>, input: TemplateJson = INPUT) {
      const calls: Record<string, TemplateJson[]> = {};
      const taskResourceLocalHandlers = Object.fromEntries(
        Object.entries(asl.States)
          .filter(([, st]) => st.Type === 'Task')
          .map(([name]) => [
            name,
            async (input: TemplateJson) => {
              calls[name] = [...(calls[name] ?? []), input.Payload];
              const handler = handlers[name];
              if (!handler) throw new Error(`unexpected call of ${name}`);
              return { StatusCode: 200, Payload: await handler(input.Payload) };
            },
          ]),
      );
      // A JSON copy: objects from structuredClone come from another realm, which the engine does not take as plain.
      const machine = new LocalStateMachine(JSON.parse(JSON.stringify(asl)));
      const execution = machine.run(input, {
        context: { Task: { Token: 'task-token-1' } },
        overrides: {
          taskResourceLocalHandlers,
          waitTimeOverrides: { 'Wait grace period': 0, 'Wait grace period to retire': 0 },
          retryIntervalOverrides: Object.fromEntries(Object.keys(taskResourceLocalHandlers).map((n) => [n, 0])),
        },
      });
      try {
        return { output: await execution.result, calls, failedWith: undefined };
      } catch (error) {
        // The engine wraps the Fail state's error; its name is the state's `Error`.
        return { output: undefined, calls, failedWith: ((error as Error).cause as Error | undefined)?.name };
      }
    }

    const minted = { requestId: REQUEST_ID, tokenId: TOKEN_ID, generation: 3, versionId: 'v3', manual: false };
    const happy: Record<string, Handler> = {
      'Begin rotation': (p) => ({ ...p, proceed: true }),
      'Mint token': () => ({ ...minted, token: 'must-never-enter-the-state' }),
      'Verify token': () => ({ verifiedBy: 'myself' }),
      'Promote token': () => ({ expiresAt: '2030-01-01T00:00:00Z' }),
      'Revoke previous token': () => ({ revoked: 1 }),
    };

    it('rotates: mint, verify and promote the minted generation, keep the attempt, then revoke the previous one', async () => {
      const { output, calls, failedWith } = await run(happy);
      expect(failedWith).toBeUndefined();
      expect(calls['Begin rotation']).toEqual([INPUT]);
      expect(calls['Mint token']).toEqual([{ tokenId: TOKEN_ID, generation: 3 }]);
      expect(calls['Verify token']).toEqual([minted]);
      expect(calls['Promote token']).toEqual([minted]);
      expect(calls['Revoke previous token']).toEqual([{ tokenId: TOKEN_ID, generation: 3 }]);
      expect(output).toEqual({ ...INPUT, proceed: true, minted });
      expect(JSON.stringify(output)).not.toContain('must-never-enter-the-state');
    });

    it('only revokes the previous generations on a retiring run, beginning no rotation', async () => {
      const retire = { tokenId: TOKEN_ID, generation: 3, retire: true };
      const { output, calls, failedWith } = await run(happy, retire);
      expect(failedWith).toBeUndefined();
      expect(Object.keys(calls)).toEqual(['Revoke previous token']);
      expect(calls['Revoke previous token']).toEqual([{ tokenId: TOKEN_ID, generation: 3 }]);
      expect(output).toEqual(retire);
    });

    it('begins a rotation when retire is false', async () => {
      const { calls } = await run(happy, { ...INPUT, retire: false });
      expect(calls['Begin rotation']).toHaveLength(1);
    });

    it('asks for the next upload instead of minting for a manual account, then verifies and promotes it', async () => {
      const manual = { ...minted, manual: true };
      const { output, calls, failedWith } = await run({
        ...happy,
        'Mint token': () => ({ ...manual, token: 'must-never-enter-the-state' }),
        // The upload page resumes the wait with {}; whatever it carries is dropped.
        'Wait for token upload': () => ({ uploaded: 'must-never-enter-the-state' }),
      });
      expect(failedWith).toBeUndefined();
      expect(calls['Wait for token upload']).toEqual([
        { tokenId: TOKEN_ID, generation: 3, requestId: REQUEST_ID, taskToken: 'task-token-1' },
      ]);
      expect(calls['Verify token']).toEqual([manual]);
      expect(calls['Promote token']).toEqual([manual]);
      expect(output).toEqual({ ...INPUT, proceed: true, minted: manual });
      expect(JSON.stringify(output)).not.toContain('must-never-enter-the-state');
    });

    it('never waits for an upload when Mint minted the token', async () => {
      const { calls } = await run(happy);
      expect(calls['Wait for token upload']).toBeUndefined();
    });

    it('discards and records a failure when the upload wait fails, keeping the attempt', async () => {
      const { calls, failedWith } = await run({
        ...happy,
        'Mint token': () => ({ ...minted, manual: true }),
        'Wait for token upload': () => {
          throw lambdaError('States.Timeout');
        },
        'Discard staged token': () => ({}),
        'Record rotation failure': () => ({ recorded: true }),
      });
      expect(failedWith).toBe('RotationFailed');
      expect(calls['Verify token']).toBeUndefined();
      expect(calls['Discard staged token']).toEqual([
        {
          ...INPUT,
          proceed: true,
          minted: { ...minted, manual: true },
          error: { Error: 'States.Timeout', Cause: expect.any(String) },
        },
      ]);
      expect(calls['Record rotation failure']).toEqual([
        { ...INPUT, error: { Error: 'States.Timeout', Cause: expect.any(String) } },
      ]);
    });

    it('stops without minting when Begin rotation does not proceed', async () => {
      const { output, calls, failedWith } = await run({
        'Begin rotation': (p) => ({ ...p, proceed: false, reason: 'already rotated' }),
      });
      expect(failedWith).toBeUndefined();
      expect(output).toEqual({ ...INPUT, proceed: false, reason: 'already rotated' });
      expect(Object.keys(calls)).toEqual(['Begin rotation']);
    });

    it('discards and records a failed verification with the attempt and the error, then fails', async () => {
      const { calls, failedWith } = await run({
        ...happy,
        'Verify token': () => {
          throw lambdaError('TokenVerificationError', 'the new token was refused');
        },
        'Discard staged token': () => ({}),
        'Record rotation failure': () => ({ recorded: true }),
      });
      expect(failedWith).toBe('RotationFailed');
      expect(calls['Discard staged token']).toEqual([
        {
          ...INPUT,
          proceed: true,
          minted,
          error: { Error: 'TokenVerificationError', Cause: expect.any(String) },
        },
      ]);
      expect(calls['Record rotation failure']).toEqual([
        { ...INPUT, error: { Error: 'TokenVerificationError', Cause: expect.any(String) } },
      ]);
      expect(calls['Revoke previous token']).toBeUndefined();
    });

    it('still records the failure when the discard itself fails', async () => {
      const { calls, failedWith } = await run({
        ...happy,
        'Mint token': () => {
          throw lambdaError('IssuanceRefusedError');
        },
        'Discard staged token': () => {
          throw lambdaError('DiscardError');
        },
        'Record rotation failure': () => ({ recorded: true }),
      });
      expect(failedWith).toBe('RotationFailed');
      expect(calls['Record rotation failure']).toEqual([
        { ...INPUT, error: { Error: 'IssuanceRefusedError', Cause: expect.any(String) } },
      ]);
    });

    it('retries a transient revocation failure, and fails without a rotation failure record if it persists', async () => {
      let revokes = 0;
      const flaky = await run({
        ...happy,
        'Revoke previous token': () => {
          revokes++;
          if (revokes < 3) throw lambdaError('AtlassianTransientError');
          return { revoked: 1 };
        },
      });
      expect(flaky.failedWith).toBeUndefined();
      expect(revokes).toBe(3);

      const broken = await run({
        ...happy,
        'Revoke previous token': () => {
          throw lambdaError('AtlassianRefusedError');
        },
      });
      expect(broken.failedWith).toBe('PreviousTokenNotRevoked');
      expect(broken.calls['Revoke previous token']).toHaveLength(1);
      expect(broken.calls['Record rotation failure']).toBeUndefined();
    });
  });
});
