import { App, type CfnResource, type PolicyViolation, Validations } from 'aws-cdk-lib';
import { Secret } from 'aws-cdk-lib/aws-secretsmanager';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';
import { LINK_KEY_ROTATION_DAYS } from '../../functions/domain/links';
import { addTokenWarden } from '../../lib/app';
import { readConfig } from '../../lib/config';
import { REPO_ROOT } from '../../lib/warden-function';
import { logicalId, type Synthesized, synth } from './support/synth';

interface Acknowledgement {
  path: string;
  id: string;
  reason: string;
}

function acknowledgementsIn(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((construct) =>
    construct.node.metadata
      .filter((entry) => entry.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((entry) =>
        Object.entries(entry.data as Record<string, string>).map(([id, reason]) => ({
          path: construct.node.path,
          id: id.replace(/^annotation::/i, ''),
          reason,
        })),
      ),
  );
}

describe('cdk-nag AwsSolutions', () => {
  let s: Synthesized;

  beforeAll(() => {
    s = synth();
  });

  it('reports no unacknowledged finding', () => {
    const report = new AwsSolutionsChecks().validateScope(s.app);
    expect(report.violations.map((v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath)}`)).toEqual(
      [],
    );
    expect(report.success).toBe(true);
  });

  it('runs on every synth and fails it on a new finding', () => {
    expect(() => s.app.synth({ force: true })).not.toThrow();
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = addTokenWarden(app, readConfig(app.node, REPO_ROOT));
    new Secret(stack, 'Unrotated');
    expect(() => app.synth()).toThrow(/AwsSolutions-SMG4/);
  });

  it('satisfies the secrets rotation rule (SMG4) with a rotation schedule of the link-signing key, not an acknowledgement', () => {
    expect(acknowledgementsIn(s.app).filter((a) => a.id === 'AwsSolutions-SMG4')).toEqual([]);
    const schedules = Object.values(s.template.findResources('AWS::SecretsManager::RotationSchedule'));
    const secretId = logicalId(s, s.stack.secrets.linkSigningKey.node.defaultChild as CfnResource);
    const fnId = logicalId(s, s.stack.functions.linkKeyRotation.function.node.defaultChild as CfnResource);
    expect(schedules).toEqual([
      expect.objectContaining({
        Properties: {
          SecretId: { Ref: secretId },
          RotationLambdaARN: { 'Fn::GetAtt': [fnId, 'Arn'] },
          RotationRules: { AutomaticallyAfterDays: LINK_KEY_ROTATION_DAYS },
        },
        // Secrets Manager checks that it may invoke the function when the schedule is made.
        DependsOn: [expect.stringMatching(/^FunctionsLinkKeyRotationFunctionSecretsManagerRotation/)],
      }),
    ]);
  });

  it('acknowledges only findings that exist, each with a specific reason', () => {
    const acknowledgements = acknowledgementsIn(s.app);
    expect(acknowledgements.length).toBeGreaterThan(0);
    // The same app with acknowledgements ignored shows what each one suppresses.
    const spy = jest.spyOn(Validations.prototype, 'acknowledge').mockImplementation(() => undefined);
    let raw: PolicyViolation[];
    try {
      const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
      addTokenWarden(app, readConfig(app.node, REPO_ROOT));
      raw = new AwsSolutionsChecks().validateScope(app).violations;
    } finally {
      spy.mockRestore();
    }
    for (const ack of acknowledgements) {
      const suppressed = raw.some(
        (v) =>
          v.ruleName === ack.id &&
          v.violatingResources.some((r) => r.constructPath === ack.path || r.constructPath?.startsWith(`${ack.path}/`)),
      );
      expect({ ...ack, suppressed }).toEqual({ ...ack, suppressed: true });
      expect(ack.reason.length).toBeGreaterThan(60);
    }
  });
});
