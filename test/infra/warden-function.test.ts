import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { App, Lazy, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Key } from 'aws-cdk-lib/aws-kms';
import { loadPolicyFile } from '../../lib/config';
import { writePolicyArtifact } from '../../lib/policy-artifact';
import { REPO_ROOT, WardenFunction } from '../../lib/warden-function';

describe('WardenFunction bundling', () => {
  it('bundles the handler with its dependencies, a source map and the validated policy as policy.json', () => {
    const policy = loadPolicyFile('policy/policy.yaml', REPO_ROOT);
    const app = new App();
    const stack = new Stack(app, 'Bundling');
    new WardenFunction(stack, 'Health', {
      entry: 'functions/api/health.ts',
      description: 'bundling check',
      policyFile: writePolicyArtifact(policy),
      encryptionKey: new Key(stack, 'Key'),
    });
    const assembly = app.synth();
    const code = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0]?.Properties.Code;
    const assetDir = join(assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, '')}`);

    expect(readdirSync(assetDir).sort()).toEqual(['index.js', 'index.js.map', 'policy.json']);
    expect(JSON.parse(readFileSync(join(assetDir, 'policy.json'), 'utf8'))).toEqual(JSON.parse(JSON.stringify(policy)));
    const bundle = readFileSync(join(assetDir, 'index.js'), 'utf8');
    // CommonJS, minified, self-contained: nothing is left to `require` but Node built-ins.
    expect(bundle).toMatch(/module\.exports/);
    const required = [...bundle.matchAll(/require\("([^"]+)"\)/g)].map((m) => m[1] ?? '');
    expect(required.filter((name) => !name.startsWith('node:') && !builtinModules.includes(name))).toEqual([]);
    expect(existsSync(join(assetDir, 'node_modules'))).toBe(false);
    // The map carries the mappings (stack traces name the TypeScript source), not the sources themselves.
    const map = JSON.parse(readFileSync(join(assetDir, 'index.js.map'), 'utf8'));
    expect(map.sources.some((source: string) => source.endsWith('functions/api/health.ts'))).toBe(true);
    expect(map.sourcesContent).toBeUndefined();
  });

  it('runs the extra afterBundling commands in the bundle directory it names', () => {
    const policyFile = writePolicyArtifact(loadPolicyFile('policy/policy.yaml', REPO_ROOT));
    const app = new App();
    const stack = new Stack(app, 'Extra');
    new WardenFunction(stack, 'Health', {
      entry: 'functions/api/health.ts',
      description: 'afterBundling check',
      policyFile,
      encryptionKey: new Key(stack, 'Key'),
      afterBundling: (outputDir) => [`cp "${policyFile}" "${join(outputDir, 'extra.json')}"`],
    });
    const assembly = app.synth();
    const code = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0]?.Properties.Code;
    const assetDir = join(assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, '')}`);

    expect(readdirSync(assetDir).sort()).toEqual(['extra.json', 'index.js', 'index.js.map', 'policy.json']);
  });

  it('bundles the SDK clients with credentials from the environment only and without event-stream codecs', () => {
    const app = new App();
    const stack = new Stack(app, 'Credentials');
    new WardenFunction(stack, 'BeginRotation', {
      entry: 'functions/workflow/begin-rotation.ts',
      description: 'credentials check',
      policyFile: writePolicyArtifact(loadPolicyFile('policy/policy.yaml', REPO_ROOT)),
      encryptionKey: new Key(stack, 'Key'),
    });
    const assembly = app.synth();
    const code = Object.values(Template.fromStack(stack).findResources('AWS::Lambda::Function'))[0]?.Properties.Code;
    const bundle = readFileSync(
      join(assembly.directory, `asset.${code.S3Key.replace(/\.zip$/, '')}`, 'index.js'),
      'utf8',
    );

    expect(bundle).toContain('DynamoDB_20120810');
    expect(bundle).toContain('CREDENTIALS_ENV_VARS');
    // The chain's other providers and the STS/SSO clients they bring.
    for (const marker of ['defaultProvider::fromSSO', 'AssumeRoleWithWebIdentity', 'CREDENTIALS_PROFILE', 'IMDS']) {
      expect(bundle).not.toContain(marker);
    }
    // The event-stream stand-in instead of the codecs.
    expect(bundle).toContain('event streams are not bundled');
    expect(bundle).not.toContain(':message-type');
  });
});

describe('WardenFunction bindings', () => {
  function makeFunction() {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Bindings');
    const fn = new WardenFunction(stack, 'Fn', {
      entry: 'functions/api/health.ts',
      description: 'bindings check',
      policyFile: writePolicyArtifact(loadPolicyFile('policy/policy.yaml', REPO_ROOT)),
      encryptionKey: new Key(stack, 'Key'),
    });
    const role = new Role(stack, 'SchedulerRole', { assumedBy: new ServicePrincipal('scheduler.amazonaws.com') });
    return { stack, fn, role };
  }

  it('refuses rotation schedules whose group name is not a literal', () => {
    const { stack, fn, role } = makeFunction();
    const target = { groupName: Lazy.string({ produce: () => 'late' }), role, stateMachineArn: stack.stackId };
    expect(() => fn.bindRotationSchedules(target, 'write')).toThrow(
      'bindRotationSchedules: groupName must be a literal name',
    );
  });

  it('refuses rotation schedules bound with no access', () => {
    const { stack, fn, role } = makeFunction();
    expect(() => fn.bindRotationSchedules({ groupName: 'g', role, stateMachineArn: stack.stackId })).toThrow(
      'bindRotationSchedules: name at least one access (write, delete)',
    );
  });
});
