/**
 * The Secrets Manager rotation contract: `RotateSecret`, `CancelRotateSecret`, the rotation members of
 * `DescribeSecret` and `ListSecrets`, and the rotation function's four steps, as the API reference and the user
 * guide ("How rotation works", "Troubleshoot rotation") document them. Run through `registerContract`, like the
 * rest of the Secrets Manager contract; the cases that need a rotation function the target can invoke declare the
 * `rotation-function` capability.
 */
import { randomUUID } from 'node:crypto';
import {
  CancelRotateSecretCommand,
  CreateSecretCommand,
  DeleteSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretsCommand,
  PutSecretValueCommand,
  RotateSecretCommand,
} from '@aws-sdk/client-secrets-manager';
import {
  type ContractCase,
  type ContractContext,
  MARKED_FOR_DELETION,
  type RotationFixture,
  rejects,
  SECRET_NOT_FOUND,
} from './secrets-manager-contract';

const DAY_MS = 86_400_000;
export const PREVIOUS_ROTATION_PENDING = "A previous rotation isn't complete. That rotation will be reattempted.";
export const NO_ROTATION_FUNCTION = 'No Lambda rotation function ARN is associated with this secret.';
export const CANNOT_INVOKE =
  'Secrets Manager cannot invoke the specified Lambda function. Ensure that the function policy grants access to the principal secretsmanager.amazonaws.com.';
export const BOTH_SCHEDULES = 'You cannot specify both rotation frequency and schedule expression together.';
const STEPS = ['createSecret', 'setSecret', 'testSecret', 'finishSecret'];
const LAMBDA_ARN = 'arn:aws:lambda:us-east-1:000000000000:function:tw-contract-missing-rotation';

const token = () => randomUUID();
const sorted = (values: readonly string[] | undefined) => [...(values ?? [])].sort();

function fixtureOf(ctx: ContractContext): RotationFixture {
  const fixture = ctx.target.rotation;
  if (!fixture) throw new Error('this case needs a target with a rotation function');
  return fixture;
}

/** The invocations of one rotation (by its token), as step names. */
function stepsOf(fixture: RotationFixture, requestToken: string): string[] {
  return fixture.calls.filter((c) => c.event.ClientRequestToken === requestToken).map((c) => c.event.Step);
}

/** Every rotation case, in a stable order. */
export function rotationContractCases(): ContractCase[] {
  return [
    {
      id: 'rotate-not-found',
      title: 'RotateSecret and CancelRotateSecret on an unknown secret are ResourceNotFoundException',
      async run({ client, name }) {
        const missing = name('rotate-missing');
        await rejects(
          client.send(new RotateSecretCommand({ SecretId: missing, RotationLambdaARN: LAMBDA_ARN })),
          'ResourceNotFoundException',
          SECRET_NOT_FOUND,
        );
        await rejects(
          client.send(new CancelRotateSecretCommand({ SecretId: missing })),
          'ResourceNotFoundException',
          SECRET_NOT_FOUND,
        );
      },
    },
    {
      id: 'describe-never-rotated',
      title: 'DescribeSecret and ListSecrets omit every rotation member for a secret never configured for rotation',
      async run({ client, name }) {
        const secretName = name('never-rotated');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        const listed = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [secretName] }] }));
        const entry = listed.SecretList?.[0];
        expect(entry?.Name).toBe(secretName);
        for (const metadata of [described, entry]) {
          expect(metadata?.RotationEnabled).toBeUndefined();
          expect(metadata?.RotationLambdaARN).toBeUndefined();
          expect(metadata?.RotationRules).toBeUndefined();
          expect(metadata?.LastRotatedDate).toBeUndefined();
          expect(metadata?.NextRotationDate).toBeUndefined();
        }
      },
    },
    {
      id: 'rotate-without-function',
      title: 'RotateSecret without a function on a secret that has none is InvalidRequestException, changing nothing',
      async run({ client, name }) {
        const secretName = name('no-function');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await rejects(
          client.send(new RotateSecretCommand({ SecretId: secretName, RotationRules: { AutomaticallyAfterDays: 7 } })),
          'InvalidRequestException',
          NO_ROTATION_FUNCTION,
        );
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(described.VersionIdsToStages).toEqual({ [created.VersionId ?? '']: ['AWSCURRENT'] });
        expect(described.RotationEnabled).toBeUndefined();
      },
    },
    {
      id: 'rotate-uninvokable-function',
      title: 'RotateSecret with a function Secrets Manager may not invoke is AccessDeniedException, changing nothing',
      async run(ctx) {
        const { client, name } = ctx;
        const uninvokable = ctx.target.rotation?.uninvokableArn ?? LAMBDA_ARN;
        const secretName = name('uninvokable');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await rejects(
          client.send(
            new RotateSecretCommand({
              SecretId: secretName,
              RotationLambdaARN: uninvokable,
              RotationRules: { AutomaticallyAfterDays: 7 },
            }),
          ),
          'AccessDeniedException',
          CANNOT_INVOKE,
        );
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(described.VersionIdsToStages).toEqual({ [created.VersionId ?? '']: ['AWSCURRENT'] });
        expect(described.RotationEnabled).toBeUndefined();
        expect(described.RotationLambdaARN).toBeUndefined();
      },
    },
    {
      id: 'rotate-rules-validation',
      title: 'RotateSecret checks RotationRules and the token against their constraints with ValidationException',
      async run({ client, name }) {
        const secretName = name('rules');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        const rotate = (input: Partial<ConstructorParameters<typeof RotateSecretCommand>[0]>) =>
          client.send(new RotateSecretCommand({ SecretId: secretName, RotationLambdaARN: LAMBDA_ARN, ...input }));
        await rejects(
          rotate({ RotationRules: { AutomaticallyAfterDays: 0 } }),
          'ValidationException',
          "1 validation error detected: Value '0' at 'rotationRules.automaticallyAfterDays' failed to satisfy constraint: Member must have value greater than or equal to 1",
        );
        await rejects(
          rotate({ RotationRules: { AutomaticallyAfterDays: 1001 } }),
          'ValidationException',
          /'rotationRules.automaticallyAfterDays' failed to satisfy constraint: Member must have value less than or equal to 1000/,
        );
        await rejects(
          rotate({ RotationRules: { ScheduleExpression: 'rate(10 days)', Duration: '3 hours' } }),
          'ValidationException',
          /'rotationRules.duration' failed to satisfy constraint/,
        );
        await rejects(rotate({ ClientRequestToken: 'too-short' }), 'ValidationException', /clientRequestToken/);
      },
    },
    {
      id: 'rotate-both-schedules',
      title: 'RotationRules with both AutomaticallyAfterDays and ScheduleExpression are InvalidParameterException',
      async run({ client, name }) {
        const secretName = name('both-schedules');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await rejects(
          client.send(
            new RotateSecretCommand({
              SecretId: secretName,
              RotationLambdaARN: LAMBDA_ARN,
              RotationRules: { AutomaticallyAfterDays: 10, ScheduleExpression: 'rate(10 days)' },
            }),
          ),
          'InvalidParameterException',
          BOTH_SCHEDULES,
        );
      },
    },
    {
      id: 'rotate-deleted',
      title: 'RotateSecret and CancelRotateSecret on a secret scheduled for deletion are InvalidRequestException',
      async run({ client, name }) {
        const secretName = name('rotate-deleted');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await client.send(new DeleteSecretCommand({ SecretId: secretName, RecoveryWindowInDays: 7 }));
        await rejects(
          client.send(new RotateSecretCommand({ SecretId: secretName, RotationLambdaARN: LAMBDA_ARN })),
          'InvalidRequestException',
          MARKED_FOR_DELETION,
        );
        await rejects(
          client.send(new CancelRotateSecretCommand({ SecretId: secretName })),
          'InvalidRequestException',
          MARKED_FOR_DELETION,
        );
      },
    },
    {
      id: 'cancel-never-configured',
      title: 'CancelRotateSecret on a secret never configured for rotation is InvalidRequestException',
      async run({ client, name }) {
        const secretName = name('cancel-never');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'v' }));
        await rejects(client.send(new CancelRotateSecretCommand({ SecretId: secretName })), 'InvalidRequestException');
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(described.RotationEnabled).toBeUndefined();
      },
    },
    {
      id: 'rotation-four-steps',
      title:
        'RotateSecret stages AWSPENDING under the token, then invokes createSecret, setSecret, testSecret, finishSecret',
      needs: ['rotation-function'],
      async run(ctx) {
        const { client, name } = ctx;
        const fixture = fixtureOf(ctx);
        const secretName = name('four-steps');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'gen-1' }));
        const requestToken = token();
        const answer = await client.send(
          new RotateSecretCommand({
            SecretId: secretName,
            ClientRequestToken: requestToken,
            RotationLambdaARN: fixture.functionArn,
            RotationRules: { AutomaticallyAfterDays: 30 },
          }),
        );
        expect(answer).toMatchObject({ ARN: created.ARN, Name: secretName, VersionId: requestToken });
        await fixture.settled();

        const calls = fixture.calls.filter((c) => c.event.ClientRequestToken === requestToken);
        expect(calls.map((c) => c.event.Step)).toEqual(STEPS);
        for (const call of calls) {
          expect(call.event.SecretId).toBe(created.ARN);
          expect(call.event.RotationToken).toBe(calls[0]?.event.RotationToken);
        }
        // Before createSecret the token's version exists, labelled AWSPENDING, without a value.
        expect(calls[0]?.stages).toEqual(['AWSPENDING']);
        expect(calls[0]?.value).toBeUndefined();
        expect(calls[2]?.value).toMatch(/^rotated-/);

        const current = await client.send(new GetSecretValueCommand({ SecretId: secretName }));
        expect(current.VersionId).toBe(requestToken);
        expect(sorted(current.VersionStages)).toEqual(['AWSCURRENT', 'AWSPENDING']);
        const previous = await client.send(
          new GetSecretValueCommand({ SecretId: secretName, VersionStage: 'AWSPREVIOUS' }),
        );
        expect(previous).toMatchObject({ VersionId: created.VersionId, SecretString: 'gen-1' });
      },
    },
    {
      id: 'rotation-describe-fields',
      title: 'after a rotation DescribeSecret and ListSecrets show RotationEnabled, the function, rules and dates',
      needs: ['rotation-function'],
      async run(ctx) {
        const { client, name } = ctx;
        const fixture = fixtureOf(ctx);
        const secretName = name('rotated-fields');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'gen-1' }));
        await client.send(
          new RotateSecretCommand({
            SecretId: secretName,
            RotationLambdaARN: fixture.functionArn,
            RotationRules: { AutomaticallyAfterDays: 30 },
          }),
        );
        await fixture.settled();
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        const listed = await client.send(new ListSecretsCommand({ Filters: [{ Key: 'name', Values: [secretName] }] }));
        for (const metadata of [described, listed.SecretList?.[0]]) {
          expect(metadata).toMatchObject({
            RotationEnabled: true,
            RotationLambdaARN: fixture.functionArn,
            RotationRules: { AutomaticallyAfterDays: 30 },
          });
          expect(metadata?.LastRotatedDate).toBeInstanceOf(Date);
          const rotated = metadata?.LastRotatedDate?.getTime() ?? 0;
          // The next rotation is due on or before the end of the UTC day 30 days after the last one.
          const next = metadata?.NextRotationDate?.getTime() ?? 0;
          expect(next).toBe(Math.floor(rotated / DAY_MS) * DAY_MS + 31 * DAY_MS - 1000);
        }
      },
    },
    {
      id: 'rotation-idempotent-token',
      title: 'RotateSecret repeated with the token of a finished rotation answers the same and starts nothing',
      needs: ['rotation-function'],
      async run(ctx) {
        const { client, name } = ctx;
        const fixture = fixtureOf(ctx);
        const secretName = name('rotate-idem');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'gen-1' }));
        const requestToken = token();
        const request = {
          SecretId: secretName,
          ClientRequestToken: requestToken,
          RotationLambdaARN: fixture.functionArn,
          RotationRules: { AutomaticallyAfterDays: 30 },
        };
        const first = await client.send(new RotateSecretCommand(request));
        await fixture.settled();
        const stagesAfterFirst = (await client.send(new DescribeSecretCommand({ SecretId: secretName })))
          .VersionIdsToStages;
        const again = await client.send(new RotateSecretCommand(request));
        await fixture.settled();
        expect(again).toEqual({ ...first, $metadata: again.$metadata });
        expect(stepsOf(fixture, requestToken)).toEqual(STEPS);
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(described.VersionIdsToStages).toEqual(stagesAfterFirst);
      },
    },
    {
      id: 'rotation-failed-step',
      title:
        'a failed step leaves AWSPENDING: RotateSecret with another token is refused, with the same token it runs again',
      needs: ['rotation-function'],
      async run(ctx) {
        const { client, name } = ctx;
        const fixture = fixtureOf(ctx);
        const secretName = name('rotate-fails');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'gen-1' }));
        const stuck = token();
        fixture.failAt('setSecret');
        try {
          await client.send(
            new RotateSecretCommand({
              SecretId: secretName,
              ClientRequestToken: stuck,
              RotationLambdaARN: fixture.functionArn,
              RotationRules: { AutomaticallyAfterDays: 30 },
            }),
          );
          await fixture.settled();
        } finally {
          fixture.failAt();
        }
        expect(stepsOf(fixture, stuck)).toEqual(['createSecret', 'setSecret']);
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(described.VersionIdsToStages).toEqual({
          [created.VersionId ?? '']: ['AWSCURRENT'],
          [stuck]: ['AWSPENDING'],
        });
        expect(described.LastRotatedDate).toBeUndefined();
        expect((await client.send(new GetSecretValueCommand({ SecretId: secretName }))).SecretString).toBe('gen-1');

        const other = token();
        await rejects(
          client.send(new RotateSecretCommand({ SecretId: secretName, ClientRequestToken: other })),
          'InvalidRequestException',
          PREVIOUS_ROTATION_PENDING,
        );
        expect(stepsOf(fixture, other)).toEqual([]);

        // The same token is that rotation's retry: it runs from the first step, which finds its value stored.
        const retried = await client.send(new RotateSecretCommand({ SecretId: secretName, ClientRequestToken: stuck }));
        expect(retried.VersionId).toBe(stuck);
        await fixture.settled();
        expect(stepsOf(fixture, stuck)).toEqual(['createSecret', 'setSecret', ...STEPS]);
        const current = await client.send(new GetSecretValueCommand({ SecretId: secretName }));
        expect(current.VersionId).toBe(stuck);
        const after = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(after.LastRotatedDate).toBeInstanceOf(Date);
      },
    },
    {
      id: 'rotation-reuses-configuration',
      title: 'RotateSecret without a function or rules rotates with the ones already configured',
      needs: ['rotation-function'],
      async run(ctx) {
        const { client, name } = ctx;
        const fixture = fixtureOf(ctx);
        const secretName = name('rotate-again');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'gen-1' }));
        await client.send(
          new RotateSecretCommand({
            SecretId: secretName,
            RotationLambdaARN: fixture.functionArn,
            RotationRules: { ScheduleExpression: 'rate(10 days)' },
          }),
        );
        await fixture.settled();
        const second = token();
        await client.send(new RotateSecretCommand({ SecretId: secretName, ClientRequestToken: second }));
        await fixture.settled();
        expect(stepsOf(fixture, second)).toEqual(STEPS);
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(described).toMatchObject({
          RotationEnabled: true,
          RotationLambdaARN: fixture.functionArn,
          RotationRules: { ScheduleExpression: 'rate(10 days)' },
        });
        expect(described.VersionIdsToStages?.[second]).toEqual(expect.arrayContaining(['AWSCURRENT']));
      },
    },
    {
      id: 'rotation-not-immediately',
      title: 'RotateImmediately false runs only testSecret, on an AWSPENDING copy of the value, then removes the label',
      needs: ['rotation-function'],
      async run(ctx) {
        const { client, name } = ctx;
        const fixture = fixtureOf(ctx);
        const secretName = name('rotate-later');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'gen-1' }));
        const requestToken = token();
        await client.send(
          new RotateSecretCommand({
            SecretId: secretName,
            ClientRequestToken: requestToken,
            RotationLambdaARN: fixture.functionArn,
            RotationRules: { AutomaticallyAfterDays: 30 },
            RotateImmediately: false,
          }),
        );
        await fixture.settled();
        const calls = fixture.calls.filter((c) => c.event.ClientRequestToken === requestToken);
        expect(calls.map((c) => c.event.Step)).toEqual(['testSecret']);
        expect(calls[0]?.stages).toEqual(['AWSPENDING']);
        expect(calls[0]?.value).toBe('gen-1');
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(described.VersionIdsToStages).toEqual({ [created.VersionId ?? '']: ['AWSCURRENT'] });
        expect(described.RotationEnabled).toBe(true);
        expect(described.LastRotatedDate).toBeUndefined();
        expect(described.NextRotationDate).toBeInstanceOf(Date);
      },
    },
    {
      id: 'rotation-cancel',
      title:
        'CancelRotateSecret turns rotation off, keeps the function and rules, and names the stopped rotation version',
      needs: ['rotation-function'],
      async run(ctx) {
        const { client, name } = ctx;
        const fixture = fixtureOf(ctx);
        const secretName = name('rotate-cancel');
        const created = await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'gen-1' }));
        await client.send(
          new RotateSecretCommand({
            SecretId: secretName,
            RotationLambdaARN: fixture.functionArn,
            RotationRules: { AutomaticallyAfterDays: 30 },
          }),
        );
        await fixture.settled();
        const stopped = token();
        fixture.failAt('testSecret');
        try {
          await client.send(new RotateSecretCommand({ SecretId: secretName, ClientRequestToken: stopped }));
          await fixture.settled();
        } finally {
          fixture.failAt();
        }
        const cancelled = await client.send(new CancelRotateSecretCommand({ SecretId: secretName }));
        expect(cancelled).toMatchObject({ ARN: created.ARN, Name: secretName, VersionId: stopped });
        const described = await client.send(new DescribeSecretCommand({ SecretId: secretName }));
        expect(described).toMatchObject({
          RotationEnabled: false,
          RotationLambdaARN: fixture.functionArn,
          RotationRules: { AutomaticallyAfterDays: 30 },
        });
        // While rotation is off, the reference returns null for both dates.
        expect(described.LastRotatedDate).toBeUndefined();
        expect(described.NextRotationDate).toBeUndefined();
        // The labels stay where the stopped rotation left them.
        expect(described.VersionIdsToStages?.[stopped]).toEqual(['AWSPENDING']);
      },
    },
    {
      id: 'rotation-empty-pending',
      title:
        'after a failed createSecret AWSPENDING is on a version without a value; a PutSecretValue leaves it pending',
      needs: ['rotation-function'],
      async run(ctx) {
        const { client, name } = ctx;
        const fixture = fixtureOf(ctx);
        const secretName = name('rotate-manual');
        await client.send(new CreateSecretCommand({ Name: secretName, SecretString: 'gen-1' }));
        const stuck = token();
        fixture.failAt('createSecret');
        try {
          await client.send(
            new RotateSecretCommand({
              SecretId: secretName,
              ClientRequestToken: stuck,
              RotationLambdaARN: fixture.functionArn,
              RotationRules: { AutomaticallyAfterDays: 30 },
            }),
          );
          await fixture.settled();
        } finally {
          fixture.failAt();
        }
        // createSecret failed: AWSPENDING is on an empty version, whose value cannot be read.
        await rejects(
          client.send(new GetSecretValueCommand({ SecretId: secretName, VersionStage: 'AWSPENDING' })),
          'ResourceNotFoundException',
        );
        const put = await client.send(new PutSecretValueCommand({ SecretId: secretName, SecretString: 'by-hand' }));
        expect(put.VersionStages).toEqual(['AWSCURRENT']);
        await rejects(
          client.send(new RotateSecretCommand({ SecretId: secretName, ClientRequestToken: token() })),
          'InvalidRequestException',
          PREVIOUS_ROTATION_PENDING,
        );
      },
    },
  ];
}
