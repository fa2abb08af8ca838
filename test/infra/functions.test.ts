import { copyFileSync, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CfnResource } from 'aws-cdk-lib';
import { Match } from 'aws-cdk-lib/assertions';
import ts from 'typescript';
import { writePolicyArtifact } from '../../lib/policy-artifact';
import { REPO_ROOT } from '../../lib/warden-function';
import {
  ENTRIES,
  environmentOf,
  functionId,
  logicalId,
  type Synthesized,
  synth,
  wardenFunctions,
} from './support/synth';

const COMMON = [
  'NODE_OPTIONS',
  'POLICY_FILE',
  'POWERTOOLS_LOG_LEVEL',
  'POWERTOOLS_METRICS_NAMESPACE',
  'POWERTOOLS_SERVICE_NAME',
];
const ATLASSIAN = ['ATLASSIAN_API_BASE_URL', 'ATLASSIAN_SITE_BASE_URL', 'ORG_API_KEY_SECRET_ID'];

const AUDIT = ['AUDIT_TABLE_NAME', 'EVENT_BUS_NAME'];
const SCHEDULES = ['SCHEDULE_GROUP_NAME', 'SCHEDULER_ROLE_ARN', 'ROTATION_STATE_MACHINE_ARN'];

/** The variables each function gets beyond the common ones: what its handler reads, nothing more. */
const EXPECTED_ENV: Record<string, string[]> = {
  [ENTRIES.tokenRequests]: ['TABLE_NAME', ...AUDIT, 'LINK_SIGNING_SECRET_ID', 'ISSUANCE_STATE_MACHINE_ARN'],
  [ENTRIES.tokens]: ['TABLE_NAME', ...AUDIT, ...SCHEDULES, ...ATLASSIAN, 'REVOCATION_STATE_MACHINE_ARN'],
  [ENTRIES.admin]: ['TABLE_NAME', 'AUDIT_TABLE_NAME'],
  [ENTRIES.personalTokens]: [
    'TABLE_NAME',
    ...AUDIT,

    ...ATLASSIAN,
    'SCAN_STATE_MACHINE_ARN',
  ],
  [ENTRIES.personalTokenScan]: ['TABLE_NAME', ...AUDIT, ...ATLASSIAN],
  [ENTRIES.approvals]: ['TABLE_NAME', ...AUDIT, 'LINK_SIGNING_SECRET_ID', 'APPROVAL_BASE_URL'],
  [ENTRIES.uploads]: ['TABLE_NAME', ...AUDIT, 'LINK_SIGNING_SECRET_ID', ...ATLASSIAN],
  [ENTRIES.health]: [],
  [ENTRIES.requestApproval]: ['TABLE_NAME', ...AUDIT, 'LINK_SIGNING_SECRET_ID', 'APPROVAL_BASE_URL'],
  [ENTRIES.requestUpload]: ['TABLE_NAME', ...AUDIT, 'LINK_SIGNING_SECRET_ID'],
  [ENTRIES.closeRequest]: ['TABLE_NAME', ...AUDIT],
  [ENTRIES.mintToken]: ['TABLE_NAME', ...ATLASSIAN, 'SECRETS_KMS_KEY_ID'],
  [ENTRIES.verifyToken]: ['TABLE_NAME', ...ATLASSIAN],
  [ENTRIES.promoteToken]: ['TABLE_NAME', ...AUDIT, ...SCHEDULES, 'SECRET_ROTATION_FUNCTION_ARN'],
  [ENTRIES.discardToken]: ['TABLE_NAME', ...ATLASSIAN],
  [ENTRIES.beginRotation]: ['TABLE_NAME'],
  [ENTRIES.revokePrevious]: ['TABLE_NAME', ...AUDIT, ...ATLASSIAN],
  [ENTRIES.recordRotationFailure]: ['TABLE_NAME', ...AUDIT],
  [ENTRIES.finishRevocation]: ['TABLE_NAME', ...AUDIT, ...SCHEDULES, ...ATLASSIAN],
  [ENTRIES.sweep]: ['TABLE_NAME', ...AUDIT, 'ROTATION_STATE_MACHINE_ARN', ...ATLASSIAN],
  [ENTRIES.inventory]: ['TABLE_NAME', ...AUDIT, ...ATLASSIAN],
  [ENTRIES.accessExceptions]: ['TABLE_NAME', ...AUDIT, 'LINK_SIGNING_SECRET_ID', 'EXCEPTION_STATE_MACHINE_ARN'],
  [ENTRIES.accessExceptionStep]: ['TABLE_NAME', ...AUDIT, ...ATLASSIAN],
  [ENTRIES.console]: ['TABLE_NAME', ...AUDIT, 'LINK_SIGNING_SECRET_ID'],
  [ENTRIES.consoleAssets]: ['CONSOLE_ISSUER', 'CONSOLE_CLIENT_ID', 'CONSOLE_CONNECT_ORIGINS'],
  [ENTRIES.notifier]: [
    'TABLE_NAME',
    'QUEUE_URL',
    'CONSOLE_URL',
    'FROM_EMAIL',
    'LINK_SIGNING_SECRET_ID',
    'APPROVAL_BASE_URL',
  ],
  [ENTRIES.secretRotation]: ['TABLE_NAME', ...AUDIT, ...SCHEDULES, ...ATLASSIAN],
  [ENTRIES.linkKeyRotation]: ['LINK_SIGNING_SECRET_ID'],
};

/** Names exported by `file` whose type is callable, per the TypeScript type checker. */
function exportedFunctions(program: ts.Program, file: string): string[] {
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  if (!source) throw new Error(`${file} is not part of the program`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  if (!moduleSymbol) return [];
  return checker
    .getExportsOfModule(moduleSymbol)
    .filter((symbol) => checker.getTypeOfSymbolAtLocation(symbol, source).getCallSignatures().length > 0)
    .map((symbol) => symbol.getName());
}

describe('Token Warden functions', () => {
  let s: Synthesized;

  beforeAll(() => {
    s = synth();
  });

  it('deploys exactly the functions of docs/architecture.md, each from its entry', () => {
    expect(
      wardenFunctions(s)
        .map((w) => w.entry)
        .sort(),
    ).toEqual(Object.values(ENTRIES).sort());
    // No function outside WardenFunction (e.g. a custom-resource handler) slips into the template.
    expect(Object.keys(s.template.findResources('AWS::Lambda::Function'))).toHaveLength(Object.keys(ENTRIES).length);
  });

  it("points every handler at a function its entry module exports (checked by TypeScript's type checker)", () => {
    const files = Object.values(ENTRIES).map((entry) => join(REPO_ROOT, entry));
    const missing = files.filter((file) => !existsSync(file));
    expect(missing).toEqual([]);
    const config = ts.getParsedCommandLineOfConfigFile(
      join(REPO_ROOT, 'tsconfig.json'),
      {},
      {
        ...ts.sys,
        onUnRecoverableConfigFileDiagnostic: (diagnostic) => {
          throw new Error(ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n'));
        },
      },
    );
    if (!config) throw new Error('tsconfig.json could not be read');
    const program = ts.createProgram(files, { ...config.options, noEmit: true });
    for (const warden of wardenFunctions(s)) {
      const cfn = s.json.Resources[logicalId(s, warden.function.node.defaultChild as CfnResource)];
      const handler = cfn?.Properties.Handler as string;
      expect({ entry: warden.entry, handler }).toEqual({
        entry: warden.entry,
        handler: `index.${warden.handlerExport}`,
      });
      expect({ entry: warden.entry, exports: exportedFunctions(program, join(REPO_ROOT, warden.entry)) }).toEqual({
        entry: warden.entry,
        exports: expect.arrayContaining([warden.handlerExport]),
      });
    }
  });

  it('runs every function on Node.js 22, arm64, with active tracing and its own encrypted log group', () => {
    const functions = s.template.findResources('AWS::Lambda::Function');
    for (const [id, fn] of Object.entries(functions)) {
      expect({ id, ...fn.Properties }).toMatchObject({
        id,
        Runtime: 'nodejs22.x',
        Architectures: ['arm64'],
        TracingConfig: { Mode: 'Active' },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
    }
    s.template.resourcePropertiesCountIs(
      'AWS::Logs::LogGroup',
      { KmsKeyId: Match.anyValue(), RetentionInDays: 90 },
      // One per function, plus the five workflows' and the API's access logs.
      Object.keys(functions).length + 6,
    );
  });

  it('gives no function a managed policy', () => {
    for (const warden of wardenFunctions(s)) {
      const role = s.json.Resources[logicalId(s, warden.role.node.defaultChild as CfnResource)];
      expect({ entry: warden.entry, managed: role?.Properties.ManagedPolicyArns }).toEqual({ entry: warden.entry });
    }
  });

  it.each(Object.values(ENTRIES))('gives %s exactly the environment its handler reads', (entry) => {
    const env = environmentOf(s, entry);
    expect(Object.keys(env).sort()).toEqual([...COMMON, ...(EXPECTED_ENV[entry] ?? [])].sort());
    expect(env).toMatchObject({
      POLICY_FILE: 'policy.json',
      POWERTOOLS_SERVICE_NAME: 'token-warden',
      POWERTOOLS_LOG_LEVEL: 'INFO',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('fills the environment from the resources and the context', () => {
    expect(environmentOf(s, ENTRIES.tokenRequests)).toMatchObject({
      TABLE_NAME: logicalId(s, s.stack.store.records.node.defaultChild as CfnResource),
      AUDIT_TABLE_NAME: logicalId(s, s.stack.store.audit.node.defaultChild as CfnResource),
      EVENT_BUS_NAME: 'TokenWarden-events',
      ISSUANCE_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:TokenWarden-issuance',
      LINK_SIGNING_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:TokenWarden/link-signing-key',
    });
    expect(environmentOf(s, ENTRIES.accessExceptions)).toMatchObject({
      EXCEPTION_STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:000000000000:stateMachine:TokenWarden-access-exception',
      LINK_SIGNING_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:TokenWarden/link-signing-key',
    });
    const apiId = logicalId(s, s.stack.api.api.node.defaultChild as CfnResource);
    expect(environmentOf(s, ENTRIES.notifier)).toMatchObject({
      FROM_EMAIL: 'token-warden@example.com',
      APPROVAL_BASE_URL: `https://${apiId}.execute-api.us-east-1.amazonaws.com`,
      LINK_SIGNING_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:TokenWarden/link-signing-key',
    });
    expect(environmentOf(s, ENTRIES.requestUpload)).toMatchObject({
      TABLE_NAME: logicalId(s, s.stack.store.records.node.defaultChild as CfnResource),
      LINK_SIGNING_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:TokenWarden/link-signing-key',
    });
    expect(environmentOf(s, ENTRIES.uploads)).toMatchObject({
      TABLE_NAME: logicalId(s, s.stack.store.records.node.defaultChild as CfnResource),
      AUDIT_TABLE_NAME: logicalId(s, s.stack.store.audit.node.defaultChild as CfnResource),
      EVENT_BUS_NAME: 'TokenWarden-events',
      LINK_SIGNING_SECRET_ID: 'arn:aws:secretsmanager:us-east-1:000000000000:secret:TokenWarden/link-signing-key',
      ORG_API_KEY_SECRET_ID: 'token-warden/atlassian-org-api-key',
      ATLASSIAN_API_BASE_URL: 'https://api.atlassian.com',
      ATLASSIAN_SITE_BASE_URL: 'https://{site}.atlassian.net',
    });
    expect(environmentOf(s, ENTRIES.mintToken)).toMatchObject({
      ORG_API_KEY_SECRET_ID: 'token-warden/atlassian-org-api-key',
      ATLASSIAN_API_BASE_URL: 'https://api.atlassian.com',
      ATLASSIAN_SITE_BASE_URL: 'https://{site}.atlassian.net',
      SECRETS_KMS_KEY_ID: expect.stringMatching(/^arn:aws:kms:us-east-1:000000000000:key\//),
    });
  });

  it("tells the console's assets the members' issuer and the console's client id (jwtAudience unless given)", () => {
    expect(environmentOf(s, ENTRIES.consoleAssets)).toMatchObject({
      CONSOLE_ISSUER: 'http://127.0.0.1:3000/local/oidc',
      CONSOLE_CLIENT_ID: 'token-warden',
    });
    const other = synth({
      jwtIssuer: 'https://idp.corp.example/oauth2/default',
      jwtAudience: 'api://warden',
      consoleClientId: 'warden-console',
    });
    expect(environmentOf(other, ENTRIES.consoleAssets)).toMatchObject({
      CONSOLE_ISSUER: 'https://idp.corp.example/oauth2/default',
      CONSOLE_CLIENT_ID: 'warden-console',
    });
    const audienceOnly = synth({ jwtAudience: 'api://warden' });
    expect(environmentOf(audienceOnly, ENTRIES.consoleAssets).CONSOLE_CLIENT_ID).toBe('api://warden');
  });

  it("names the identity provider's other origins for the console's connect-src, and refuses what is not an origin", () => {
    expect(environmentOf(s, ENTRIES.consoleAssets).CONSOLE_CONNECT_ORIGINS).toBe('');
    const cognito = synth({
      consoleIdentityOrigins: 'https://warden.auth.us-east-1.amazoncognito.com, https://sso.example.com',
    });
    expect(environmentOf(cognito, ENTRIES.consoleAssets).CONSOLE_CONNECT_ORIGINS).toBe(
      'https://warden.auth.us-east-1.amazoncognito.com https://sso.example.com',
    );
    expect(() => synth({ consoleIdentityOrigins: 'https://sso.example.com/oauth2' })).toThrow(
      "context consoleIdentityOrigins: 'https://sso.example.com/oauth2' is not an origin (https://host[:port], no path; http only on loopback)",
    );
    expect(() => synth({ consoleIdentityOrigins: 'http://sso.example.com' })).toThrow(/is not an origin/);
  });

  it('points rotation starters and schedulers at the rotation workflow, the schedule group and the scheduler role', () => {
    const rotation = 'arn:aws:states:us-east-1:000000000000:stateMachine:TokenWarden-rotation';
    const schedulerRole = `arn:aws:iam::000000000000:role/${logicalId(s, s.stack.schedules.role.node.defaultChild as CfnResource)}`;
    for (const entry of [ENTRIES.promoteToken, ENTRIES.tokens]) {
      expect({ entry, ...environmentOf(s, entry) }).toMatchObject({
        entry,
        ROTATION_STATE_MACHINE_ARN: rotation,
        SCHEDULER_ROLE_ARN: schedulerRole,
        SCHEDULE_GROUP_NAME: 'TokenWarden-rotations',
      });
    }
    expect(environmentOf(s, ENTRIES.sweep)).toMatchObject({ ROTATION_STATE_MACHINE_ARN: rotation });
    // The schedules and promote-token name the state machine by ARN only: promote-token is one of its steps.
    const promote = s.json.Resources[functionId(s, ENTRIES.promoteToken)];
    expect(JSON.stringify(promote?.Properties.Environment)).not.toContain(
      logicalId(s, s.stack.rotation.stateMachine.node.defaultChild as CfnResource),
    );
  });

  it('gives the sweep five minutes and 512 MB, and the workflow steps one minute', () => {
    s.template.hasResourceProperties('AWS::Lambda::Function', {
      Handler: 'index.handler',
      Timeout: 300,
      MemorySize: 512,
      Description: 'Token Warden: daily rotation sweep',
    });
    for (const entry of [
      ENTRIES.beginRotation,
      ENTRIES.revokePrevious,
      ENTRIES.recordRotationFailure,
      ENTRIES.requestUpload,
    ]) {
      expect({ entry, timeout: s.json.Resources[functionId(s, entry)]?.Properties.Timeout }).toEqual({
        entry,
        timeout: 60,
      });
    }
  });

  it('gives the access-exception steps two minutes: a policy move polls Atlassian, then tokens are revoked one by one', () => {
    expect(s.json.Resources[functionId(s, ENTRIES.accessExceptionStep)]?.Properties).toMatchObject({
      Timeout: 120,
      MemorySize: 512,
      Description: 'Token Warden: access exception steps',
    });
  });

  it('takes addresses and names from context', () => {
    const other = synth({
      fromEmail: 'warden@corp.example',
      approvalBaseUrl: 'https://warden.corp.example/',
      orgApiKeySecretName: 'corp/atlassian-key',
      atlassianApiBaseUrl: 'http://127.0.0.1:4610',
      atlassianSiteBaseUrl: 'http://127.0.0.1:4610/sites/{site}',
    });
    expect(environmentOf(other, ENTRIES.approvals)).toMatchObject({ APPROVAL_BASE_URL: 'https://warden.corp.example' });
    expect(environmentOf(other, ENTRIES.notifier)).toMatchObject({
      FROM_EMAIL: 'warden@corp.example',
      APPROVAL_BASE_URL: 'https://warden.corp.example',
    });
    expect(environmentOf(other, ENTRIES.discardToken)).toMatchObject({
      ORG_API_KEY_SECRET_ID: 'corp/atlassian-key',
      ATLASSIAN_API_BASE_URL: 'http://127.0.0.1:4610',
      ATLASSIAN_SITE_BASE_URL: 'http://127.0.0.1:4610/sites/{site}',
    });
  });

  describe('cold start with exactly the synthesized environment', () => {
    // Each handler module reads its configuration at import; importing it with the environment CDK gives the
    // function proves the variable names match on both sides.
    let taskRoot: string;
    beforeAll(() => {
      taskRoot = mkdtempSync(join(tmpdir(), 'tw-task-root-'));
      copyFileSync(writePolicyArtifact(s.stack.config.policy), join(taskRoot, 'policy.json'));
      // The console's assets function reads the console built into its bundle.
      mkdirSync(join(taskRoot, 'console'));
      writeFileSync(join(taskRoot, 'console', 'index.html'), '<meta name="tw-config" content="__TW_CONFIG__">');
    });

    it.each(Object.values(ENTRIES))('%s loads and exports its handler', (entry) => {
      const saved = process.env;
      process.env = {
        ...environmentOf(s, entry),
        LAMBDA_TASK_ROOT: taskRoot,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'test',
        AWS_SECRET_ACCESS_KEY: 'test',
      };
      try {
        let loaded: Record<string, unknown> = {};
        jest.isolateModules(() => {
          loaded = require(join(REPO_ROOT, entry));
        });
        expect(typeof loaded.handler).toBe('function');
      } finally {
        process.env = saved;
      }
    });
  });
});
