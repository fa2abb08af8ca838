import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { PolicyError } from '../../functions/domain/policy';
import { CONTEXT_DEFAULTS, loadPolicyFile, readConfig } from '../../lib/config';
import { REPO_ROOT } from '../../lib/warden-function';
import { defaultPolicy, writePolicy } from './support/synth';

/** A policy with three independent mistakes. */
function badPolicy(): string {
  const policy = defaultPolicy();
  policy.gracePeriodHours = 500;
  policy.notifications.adminEmails = ['not-an-email'];
  policy.serviceAccounts[0].approvalsRequired = 3;
  return writePolicy(policy, 'bad-policy.yaml');
}

function policyErrorOf(run: () => unknown): PolicyError {
  try {
    run();
  } catch (error) {
    if (error instanceof PolicyError) return error;
    throw error;
  }
  throw new Error('expected a PolicyError');
}

describe('configuration', () => {
  it('loads and validates the repository policy', () => {
    const policy = loadPolicyFile('policy/policy.yaml', REPO_ROOT);
    expect(policy.approvalExpiryHours).toBe(72);
    expect(policy.serviceAccounts.map((a) => a.alias)).toEqual(['jenkins-bot']);
  });

  it('reports every problem of an invalid policy as <file>: <field path>: <message>', () => {
    const file = badPolicy();
    expect(policyErrorOf(() => loadPolicyFile(file)).lines).toEqual([
      `${file}: notifications.adminEmails[0]: must be an email address`,
      `${file}: gracePeriodHours: must be less than rotationLeadDays × 24 (168)`,
      `${file}: serviceAccounts[0].approvalsRequired: must not exceed the number of approvers (2)`,
    ]);
  });

  it('reports a missing file in the same shape, with the path as given', () => {
    expect(policyErrorOf(() => loadPolicyFile('policy/nope.yaml', REPO_ROOT)).lines).toEqual([
      'policy/nope.yaml: (root): cannot read the file (ENOENT)',
    ]);
  });

  it('defaults every context value so that a synth needs no flags', () => {
    const config = readConfig(new App().node, REPO_ROOT);
    expect(config).toMatchObject({
      policyFile: 'policy/policy.yaml',
      jwtIssuer: 'http://127.0.0.1:3000/local/oidc',
      jwtAudience: 'token-warden',
      fromEmail: 'token-warden@example.com',
      orgApiKeySecretName: 'token-warden/atlassian-org-api-key',
      atlassianApiBaseUrl: 'https://api.atlassian.com',
      atlassianSiteBaseUrl: 'https://{site}.atlassian.net',
      stackName: 'TokenWarden',
    });
    expect(config.approvalBaseUrl).toBeUndefined();
    expect(CONTEXT_DEFAULTS.policy).toBe('policy/policy.yaml');
  });

  it('takes every value from context when given', () => {
    const app = new App({
      context: { jwtIssuer: 'https://idp.example/', stackName: 'Warden2', approvalBaseUrl: 'https://w.example//' },
    });
    expect(readConfig(app.node, REPO_ROOT)).toMatchObject({
      jwtIssuer: 'https://idp.example/',
      stackName: 'Warden2',
      approvalBaseUrl: 'https://w.example',
    });
  });

  it('refuses context values that are not strings', () => {
    const app = new App({ context: { jwtAudience: 42 } });
    expect(() => readConfig(app.node, REPO_ROOT)).toThrow('context jwtAudience must be a string');
  });
});

describe('bin/token-warden.ts with an invalid policy', () => {
  const bin = (name: string) => join(REPO_ROOT, 'node_modules', '.bin', name);

  it('exits 1 printing exactly the policy lines on stderr, without a stack trace', () => {
    const file = badPolicy();
    const outdir = mkdtempSync(join(tmpdir(), 'tw-out-'));
    const result = spawnSync(bin('tsx'), ['bin/token-warden.ts'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_CONTEXT_JSON: JSON.stringify({ policy: file }), CDK_OUTDIR: outdir },
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    expect(result.stderr).toBe(
      [
        `${file}: notifications.adminEmails[0]: must be an email address`,
        `${file}: gracePeriodHours: must be less than rotationLeadDays × 24 (168)`,
        `${file}: serviceAccounts[0].approvalsRequired: must not exceed the number of approvers (2)`,
        '',
      ].join('\n'),
    );
  });

  it('makes `cdk synth -c policy=<file>` fail with those lines', () => {
    const file = badPolicy();
    const outdir = mkdtempSync(join(tmpdir(), 'tw-out-'));
    const result = spawnSync(bin('cdk'), ['synth', '-q', '--no-notices', '-c', `policy=${file}`, '-o', outdir], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      env: { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true' },
    });
    expect(result.status).not.toBe(0);
    const lines = result.stderr.trimEnd().split('\n');
    // The CLI adds one line of its own naming the app command's exit code.
    expect(lines).toEqual([
      `${file}: notifications.adminEmails[0]: must be an email address`,
      `${file}: gracePeriodHours: must be less than rotationLeadDays × 24 (168)`,
      `${file}: serviceAccounts[0].approvalsRequired: must not exceed the number of approvers (2)`,
      expect.stringMatching(/Subprocess exited with error 1$/),
    ]);
    expect(result.stderr).not.toMatch(/^\s+at /m);
  });
});
