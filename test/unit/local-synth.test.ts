/**
 * The assembly cache's bookkeeping (no synthesis here: the e2e runtimes exercise a cached assembly end to end).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { assemblyKey, placeholderFor, portableContext, sourcesDigest, substituteUrls } from '../../local/synth';

const URLS = {
  jwtIssuer: 'http://127.0.0.1:41234/local/oidc',
  approvalBaseUrl: 'http://127.0.0.1:41234',
  atlassianApiBaseUrl: 'http://127.0.0.1:41999',
  atlassianSiteBaseUrl: 'http://127.0.0.1:41999',
};

describe('portableContext', () => {
  it('swaps each runtime URL for its own placeholder and keeps the rest of the context', () => {
    const portable = portableContext({ ...URLS, policy: 'policy/policy.yaml', stackName: 'TokenWarden' });
    expect(portable?.context).toEqual({
      jwtIssuer: placeholderFor('jwtIssuer'),
      approvalBaseUrl: placeholderFor('approvalBaseUrl'),
      atlassianApiBaseUrl: placeholderFor('atlassianApiBaseUrl'),
      atlassianSiteBaseUrl: placeholderFor('atlassianSiteBaseUrl'),
      policy: 'policy/policy.yaml',
      stackName: 'TokenWarden',
    });
    expect(new Set(portable?.substitutions.map(([placeholder]) => placeholder)).size).toBe(4);
  });

  it('declines a URL with a trailing slash, which the app would normalize', () => {
    expect(portableContext({ ...URLS, approvalBaseUrl: 'http://127.0.0.1:41234/' })).toBeUndefined();
  });
});

describe('substituteUrls', () => {
  it('gives back the runtime URLs wherever a placeholder stands, also inside longer strings', () => {
    const { context, substitutions } = portableContext(URLS)!;
    const template = {
      Issuer: context.jwtIssuer,
      Env: { APPROVAL_BASE_URL: context.approvalBaseUrl, LINK: `${context.approvalBaseUrl}/approvals` },
      Join: ['x', [context.atlassianApiBaseUrl, '/rest']],
    };
    expect(substituteUrls(template, substitutions)).toEqual({
      Issuer: URLS.jwtIssuer,
      Env: { APPROVAL_BASE_URL: URLS.approvalBaseUrl, LINK: `${URLS.approvalBaseUrl}/approvals` },
      Join: ['x', [URLS.atlassianApiBaseUrl, '/rest']],
    });
  });
});

describe('assemblyKey', () => {
  // A fixed sources digest: the keys compared here must differ by the policy or the context alone.
  const SOURCES = 'sources';
  const dir = mkdtempSync(join(tmpdir(), 'token-warden-synth-key-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const shipped = readFileSync(join(__dirname, '../../policy/policy.yaml'), 'utf8');

  it("follows the policy file's content, not its path", () => {
    const copy = join(dir, 'copy.yaml');
    const other = join(dir, 'other.yaml');
    writeFileSync(copy, shipped);
    writeFileSync(other, `${shipped}\napproverSignIn: true\n`);
    const key = (policy: string) => assemblyKey(portableContext({ ...URLS, policy })!.context, SOURCES);
    expect(key(copy)).toBe(key('policy/policy.yaml'));
    expect(key(other)).not.toBe(key('policy/policy.yaml'));
  });

  it('follows the rest of the context', () => {
    const key = (stackName: string) =>
      assemblyKey(portableContext({ ...URLS, policy: 'policy/policy.yaml', stackName })!.context, SOURCES);
    expect(key('TokenWarden')).not.toBe(key('Other'));
  });

  it('follows the sources', () => {
    const portable = portableContext({ ...URLS, policy: 'policy/policy.yaml' })!.context;
    expect(assemblyKey(portable, 'one')).not.toBe(assemblyKey(portable, 'two'));
    expect(sourcesDigest()).toMatch(/^[0-9a-f]{64}$/);
  });
});
