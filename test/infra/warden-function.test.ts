import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
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
  });
});
