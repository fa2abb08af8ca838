/**
 * Manual issuance (`issuance: manual`): Token Warden mints nothing; admins create the token in admin.atlassian.com
 * under the generation's label and hand it over through a single-use upload link. The fake Atlassian stands in for
 * admin.atlassian.com: the tests create the admin's token there with `AtlassianClient.mintToken`.
 */
import {
  DescribeSecretCommand,
  GetSecretValueCommand,
  ListSecretVersionIdsCommand,
} from '@aws-sdk/client-secrets-manager';
import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
import type { Workflows } from '../../../functions/adapters/aws/workflow';
import { cryptoRandom } from '../../../functions/composition/random';
import { signApprovalLink, signUploadLink } from '../../../functions/domain/links';
import { uploadPage } from '../../../functions/domain/messages';
import { mintLabel } from '../../../functions/domain/naming';
import type { Policy } from '../../../functions/domain/policy';
import { isoSeconds } from '../../../functions/domain/ports';
import { discardToken, type Minted, mintToken, verifyToken } from '../../../functions/use-cases/issuance';
import { promoteToken } from '../../../functions/use-cases/promote';
import { beginRotation, revokePreviousGenerations } from '../../../functions/use-cases/rotation';
import { sweep } from '../../../functions/use-cases/sweep';
import {
  type RequestUploadDeps,
  receiveUpload,
  requestUpload,
  showUpload,
  type UploadPageAnswer,
  type UploadPageDeps,
} from '../../../functions/use-cases/uploads';
import { type Harness, policy, SERVICE_ACCOUNT, useHarness } from '../../support/harness';
import { INLINE_LINK_KEY } from '../../support/inline-notifier';

const ses = mockClient(SESv2Client);
// The key the harness's inline notifier signs the emailed links with.
const KEY = INLINE_LINK_KEY;
const DAY = 86_400_000;
const HOUR = 3_600_000;
const ADMINS = ['admin@example.com', 'ops@example.com'];

/** The shipped policy with jenkins-bot issued manually and two admins to ask. */
const manualPolicy: Policy = {
  ...policy,
  notifications: { ...policy.notifications, adminEmails: ADMINS },
  serviceAccounts: policy.serviceAccounts.map((a) =>
    a.alias === 'jenkins-bot' ? { ...a, issuance: 'manual' as const } : a,
  ),
};

let deps: Harness['deps'];
const resumed: { taskToken: string; output: object }[] = [];
const started: string[] = [];
let resumeAnswer = true;
const workflows = {
  start: async (_arn: string, name: string) => {
    started.push(name);
    return `arn:execution:${name}`;
  },
  succeed: async (taskToken: string, output: object) => {
    resumed.push({ taskToken, output });
    return resumeAnswer;
  },
  stop: async () => {},
} as unknown as Workflows;

/** Every page rendered, to check for leaks. */
const pages: string[] = [];

const requestDeps = (): RequestUploadDeps => ({
  store: h.deps.store,
  audit: h.deps.audit,
  workflows,
  clock: h.clock,
  policy: manualPolicy,
  linkAndSealKey: async () => ({ current: KEY }),
});
const pageDeps = (): UploadPageDeps => ({
  store: h.deps.store,
  audit: h.deps.audit,
  workflows,
  vault: h.deps.vault,
  atlassian: h.deps.atlassian,
  clock: h.clock,
  random: cryptoRandom,
  policy: manualPolicy,
  linkAndSealKey: async () => ({ current: KEY }),
});

const h = useHarness(ses, () => {
  resumed.length = 0;
  started.length = 0;
  resumeAnswer = true;
});
beforeAll(() => {
  deps = { ...h.deps, policy: manualPolicy };
});

interface Sent {
  to: string;
  subject: string;
  text: string;
  html: string;
  url: URL;
}

function sentEmails(): Sent[] {
  return ses.commandCalls(SendEmailCommand).map((c) => {
    const input = c.args[0].input;
    const text = input.Content?.Simple?.Body?.Text?.Data ?? '';
    const line = text.split('\n').find((l) => l.startsWith('https://'));
    return {
      to: input.Destination?.ToAddresses?.[0] ?? '',
      subject: input.Content?.Simple?.Subject?.Data ?? '',
      text,
      html: input.Content?.Simple?.Body?.Html?.Data ?? '',
      url: new URL(line ?? 'https://missing/'),
    };
  });
}

const uploadIdOf = (url: URL) => url.pathname.split('/').pop() ?? '';
const keep = (answer: UploadPageAnswer) => {
  pages.push(uploadPage(answer.model));
  return answer;
};
const open = async (url: URL) =>
  keep(await showUpload(pageDeps(), uploadIdOf(url), url.searchParams.get('sig') ?? undefined));
const submit = async (url: URL, form: Record<string, string>) =>
  keep(await receiveUpload(pageDeps(), uploadIdOf(url), new URLSearchParams(form)));
const csrfOf = (answer: UploadPageAnswer) => answer.model.form?.csrf ?? '';
const sigOf = (url: URL) => url.searchParams.get('sig') ?? '';

/** The label the admin is told to use. */
const labelOf = (minted: Minted) => mintLabel(minted.tokenId, minted.generation);

/** The admin creates the token in admin.atlassian.com (the fake), as the email asks. */
async function adminCreates(label: string, scopes: string[], expiry: Date) {
  return h.deps.atlassian.mintToken(SERVICE_ACCOUNT.atlassianId, { label, scopes, expiry });
}

/** An approved request for the manual account, minted (nothing at Atlassian) and the admins asked. */
async function askedForUpload(scopes = ['read:jira-work', 'read:jira-user']) {
  const request = await h.approvedRequest(scopes);
  const minted = await mintToken(deps, { requestId: request.requestId });
  const taskToken = `task-token-${minted.tokenId}-g1`;
  await requestUpload(requestDeps(), { ...minted, taskToken });
  const links = Object.fromEntries(sentEmails().map((e) => [e.to, e.url]));
  const mint = await h.deps.store.getMint(minted.tokenId, 1);
  return { request, minted, taskToken, links, expected: new Date(mint?.expiresAt ?? '') };
}

/** Opens `url`, and posts `value` with the page's anti-forgery value. */
async function uploadThrough(url: URL, value: string) {
  const page = await open(url);
  expect(page.status).toBe(200);
  return submit(url, { sig: sigOf(url), csrf: csrfOf(page), token: value });
}

/** A generation-1 token issued through the manual path, as the workflow runs it. */
async function issuedManually(scopes = ['read:jira-work', 'read:jira-user']) {
  const asked = await askedForUpload(scopes);
  const created = await adminCreates(labelOf(asked.minted), scopes, new Date(asked.expected.getTime() + DAY));
  const answer = await uploadThrough(asked.links['admin@example.com']!, created.token);
  expect(answer.status).toBe(200);
  await verifyToken(deps, asked.minted);
  await promoteToken(deps, asked.minted);
  // What later steps observe starts here.
  resumed.length = 0;
  ses.resetHistory();
  return {
    ...asked,
    tokenId: asked.minted.tokenId,
    created,
    secretName: `token-warden.jenkins-bot.${asked.request.name}`,
  };
}

const secretValue = async (secretName: string, stage = 'AWSCURRENT') =>
  (await h.sm.send(new GetSecretValueCommand({ SecretId: secretName, VersionStage: stage }))).SecretString ?? '';

async function tableItems() {
  return [
    ...((await h.dynamo.doc.send(new ScanCommand({ TableName: h.dynamo.tableName }))).Items ?? []),
    ...((await h.dynamo.doc.send(new ScanCommand({ TableName: h.dynamo.auditTableName }))).Items ?? []),
  ];
}

/** The value is in Secrets Manager only: no table item, email, audit record, page or workflow output holds it. */
async function expectNowhereButTheSecret(value: string, extra: unknown[] = []) {
  expect(value.length).toBeGreaterThan(20);
  const observed = JSON.stringify([await tableItems(), ses.calls().map((c) => c.args[0].input), pages, resumed, extra]);
  expect(observed).not.toContain(value);
}

describe('Mint token for a manual account', () => {
  it('mints nothing at Atlassian and records the generation AWAITING_UPLOAD with the expected expiry', async () => {
    const request = await h.approvedRequest();
    const before = h.clock.now().getTime();
    const minted = await mintToken(deps, { requestId: request.requestId });
    const tokenId = request.requestId.replace('req_', 'tok_');
    expect(minted).toEqual({
      requestId: request.requestId,
      tokenId,
      generation: 1,
      versionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      manual: true,
    });
    expect(h.fakeTokens(tokenId)).toEqual([]);

    const mint = await h.deps.store.getMint(tokenId, 1);
    expect(mint).toMatchObject({
      state: 'AWAITING_UPLOAD',
      manual: true,
      label: `token-warden:${tokenId}:g1`,
      versionId: minted.versionId,
    });
    expect(mint?.atlassianTokenId).toBeUndefined();
    const expected = Date.parse(mint?.expiresAt ?? '');
    expect(Math.abs(expected - (before + 30 * DAY))).toBeLessThan(5_000);

    // The secret exists with the Jenkins tags, holding no value yet.
    const described = await h.sm.send(
      new DescribeSecretCommand({ SecretId: `token-warden.jenkins-bot.${request.name}` }),
    );
    expect(described.Tags).toEqual(
      expect.arrayContaining([
        { Key: 'jenkins:credentials:type', Value: 'usernamePassword' },
        { Key: 'jenkins:credentials:username', Value: SERVICE_ACCOUNT.email },
      ]),
    );
    expect(Object.keys(described.VersionIdsToStages ?? {})).toEqual([]);

    // Idempotent, and nothing to verify before an upload.
    expect(await mintToken(deps, { requestId: request.requestId })).toEqual(minted);
    await expect(verifyToken(deps, minted)).rejects.toMatchObject({ name: 'IssuanceRefusedError' });
  });
});

describe('request-upload', () => {
  it('emails each admin once: what to create (label, scopes, expiry) and a bare single-use link', async () => {
    const { minted, expected } = await askedForUpload();
    const emails = sentEmails();
    expect(emails.map((e) => e.to).sort()).toEqual([...ADMINS].sort());
    const label = `token-warden:${minted.tokenId}:g1`;
    for (const email of emails) {
      expect(email.text).toContain(`Label (exactly): ${label}`);
      expect(email.text).toContain('Scopes: read:jira-work, read:jira-user');
      expect(email.text).toContain(`Expiry: on or after ${isoSeconds(expected)}`);
      expect(email.text).toContain(SERVICE_ACCOUNT.email);
      expect(email.text).toContain('admin.atlassian.com');
      expect(email.html).toContain(label);
      // The link stands alone on its own line, under the API base URL (no doubled slash).
      const lines = email.text.split('\n');
      expect(lines).toContain(email.url.toString());
      expect(email.url.origin).toBe('https://api.example.com');
      expect(email.url.pathname).toMatch(/^\/uploads\/upl_[a-z2-7]{26}$/);
      expect(sigOf(email.url)).toMatch(/^\d+\.[A-Za-z0-9_-]{43}$/);
    }
    // One link per admin.
    expect(new Set(emails.map((e) => e.url.pathname)).size).toBe(ADMINS.length);
  });

  it('sends nothing new when the step runs again, stores the new task token sealed, and keeps the links', async () => {
    const { minted, links } = await askedForUpload();
    const first = await h.deps.store.getMint(minted.tokenId, 1);
    ses.resetHistory();
    await requestUpload(requestDeps(), { ...minted, taskToken: 'TASKTOKEN-of-a-retried-attempt' });
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
    const second = await h.deps.store.getMint(minted.tokenId, 1);
    expect(second?.taskTokenSealed).toMatch(/^v1\./);
    expect(second?.taskTokenSealed).not.toBe(first?.taskTokenSealed);
    expect(second?.uploadExpiresAt).toBe(first?.uploadExpiresAt);
    expect(JSON.stringify(await tableItems())).not.toContain('TASKTOKEN-of-a-retried-attempt');
    const upload = await h.deps.store.getUpload(uploadIdOf(links['admin@example.com']!));
    expect(upload).toMatchObject({ status: 'OPEN', admin: 'admin@example.com', expiresAt: first?.uploadExpiresAt });
    expect(Date.parse(upload?.expiresAt ?? '') - Date.parse(upload?.createdAt ?? '')).toBe(
      policy.approvalExpiryHours * HOUR,
    );
  });

  it('resumes at once when the upload already arrived (a retried or re-driven attempt)', async () => {
    const { minted, links, expected } = await askedForUpload();
    const created = await adminCreates(labelOf(minted), ['read:jira-work'], expected);
    expect((await uploadThrough(links['ops@example.com']!, created.token)).status).toBe(200);
    resumed.length = 0;
    ses.resetHistory();
    expect(await requestUpload(requestDeps(), { ...minted, taskToken: 'late-attempt' })).toMatchObject({
      state: 'STAGED',
    });
    expect(resumed).toEqual([{ taskToken: 'late-attempt', output: {} }]);
    expect(ses.commandCalls(SendEmailCommand)).toHaveLength(0);
  });
});

describe('the upload page', () => {
  it('GET shows what to create and a password form, and changes nothing but the stored anti-forgery hash', async () => {
    const { minted, links } = await askedForUpload();
    const url = links['admin@example.com']!;
    const page = await open(url);
    expect(page.status).toBe(200);
    expect(page.model.instructions).toMatchObject({
      label: `token-warden:${minted.tokenId}:g1`,
      scopes: ['read:jira-work', 'read:jira-user'],
      serviceAccountEmail: SERVICE_ACCOUNT.email,
    });
    const html = uploadPage(page.model);
    expect(html).toMatch(/<input type="password" id="token" name="token"[^>]*>/);
    expect(html).not.toMatch(/name="token"[^>]*value=/);
    expect(html).toContain(`action="/uploads/${uploadIdOf(url)}"`);
    expect((await h.deps.store.getMint(minted.tokenId, 1))?.state).toBe('AWAITING_UPLOAD');
    expect((await h.deps.store.getUpload(uploadIdOf(url)))?.csrfHashes).toHaveLength(1);
    expect(resumed).toEqual([]);
  });

  it('refuses bad links and forms with 403, malformed values and missing or unfit tokens with 400, changing nothing', async () => {
    const { request, minted, links, expected } = await askedForUpload();
    const url = links['admin@example.com']!;
    const csrf = csrfOf(await open(url));
    const sig = sigOf(url);
    const uploadId = uploadIdOf(url);
    const upload = await h.deps.store.getUpload(uploadId);
    const value = 'ATATT3xFfGF0-this-is-what-the-admin-pasted-0123456789';

    // The link: tampered, unknown, another admin's, an approval signature over the same id, email and expiry.
    const tampered = sig.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'));
    expect((await submit(url, { sig: tampered, csrf, token: value })).status).toBe(403);
    const unknown = new URL(url);
    unknown.pathname = '/uploads/upl_aaaaaaaaaaaaaaaaaaaaaaaaaa';
    expect((await open(unknown)).status).toBe(403);
    expect((await submit(url, { sig: sigOf(links['ops@example.com']!), csrf, token: value })).status).toBe(403);
    const expires = new Date(upload?.expiresAt ?? '');
    const approvalSig = signApprovalLink(KEY, uploadId, 'admin@example.com', expires);
    expect(approvalSig).not.toBe(sig);
    expect((await submit(url, { sig: approvalSig, csrf, token: value })).status).toBe(403);
    expect(signUploadLink(KEY, uploadId, 'ADMIN@example.com', expires)).toBe(sig);
    // The form: missing or wrong anti-forgery value.
    expect((await submit(url, { sig, token: value })).status).toBe(403);
    expect((await submit(url, { sig, csrf: 'x'.repeat(43), token: value })).status).toBe(403);

    // The value: empty, with spaces or control characters, non-ASCII, too long.
    for (const bad of ['', 'has space', 'tab\tvalue', 'line\nbreak', 'ünïcode-token', 'x'.repeat(1025)]) {
      const answer = await submit(url, { sig, csrf, token: bad });
      expect({ bad, status: answer.status }).toEqual({ bad, status: 400 });
      expect(answer.model.form?.csrf).toBe(csrf);
    }
    expect((await submit(url, { sig, csrf })).status).toBe(400);

    // Atlassian: no token with the label yet.
    const none = await submit(url, { sig, csrf, token: value });
    expect(none).toMatchObject({ status: 400, model: { title: 'Token not found at Atlassian' } });
    expect(none.model.message).toContain(`token-warden:${minted.tokenId}:g1`);
    // A token with the label whose expiry is too early, then too late for the policy.
    const early = await adminCreates(labelOf(minted), request.scopes, new Date(expected.getTime() - 3 * DAY));
    expect(await submit(url, { sig, csrf, token: early.token })).toMatchObject({
      status: 400,
      model: { title: 'Expiry not accepted' },
    });
    await h.deps.atlassian.revokeToken(SERVICE_ACCOUNT.atlassianId, early.id);
    const late = await adminCreates(labelOf(minted), request.scopes, new Date(h.clock.now().getTime() + 200 * DAY));
    expect((await submit(url, { sig, csrf, token: late.token })).status).toBe(400);
    // Two tokens with the label: which one was pasted cannot be told.
    const other = await adminCreates(labelOf(minted), request.scopes, expected);
    const twice = await submit(url, { sig, csrf, token: other.token });
    expect(twice).toMatchObject({ status: 400, model: { title: 'More than one token with this label' } });
    await h.deps.atlassian.revokeToken(SERVICE_ACCOUNT.atlassianId, late.id);

    // Nothing changed: no version stored, still awaiting, the link still open, the workflow not resumed.
    const versions = await h.sm.send(
      new ListSecretVersionIdsCommand({
        SecretId: `token-warden.jenkins-bot.${request.name}`,
        IncludeDeprecated: true,
      }),
    );
    expect(versions.Versions ?? []).toEqual([]);
    expect((await h.deps.store.getMint(minted.tokenId, 1))?.state).toBe('AWAITING_UPLOAD');
    expect((await h.deps.store.getUpload(uploadId))?.status).toBe('OPEN');
    expect(resumed).toEqual([]);
    expect((await h.deps.audit.list(request.requestId)).map((r) => r.event)).not.toContain('TOKEN_UPLOADED');

    // The genuine form still works afterwards.
    expect((await submit(url, { sig, csrf, token: other.token })).status).toBe(200);
    await expectNowhereButTheSecret(other.token, [early.token, late.token]);
    for (const v of [value, early.token, late.token]) expect(JSON.stringify(pages)).not.toContain(v);
  });

  it('stores the upload, then verify and promote issue it like a minted token', async () => {
    const { request, minted, links, expected, taskToken } = await askedForUpload();
    // The admin picks an expiry two days after the expected one: the listing is what counts.
    const expiry = new Date(expected.getTime() + 2 * DAY);
    const created = await adminCreates(labelOf(minted), request.scopes, expiry);
    const answer = await uploadThrough(links['admin@example.com']!, created.token);
    expect(answer).toMatchObject({ status: 200, model: { title: 'Token received' } });
    expect(resumed).toEqual([{ taskToken, output: {} }]);

    const mint = await h.deps.store.getMint(minted.tokenId, 1);
    expect(mint).toMatchObject({
      state: 'STAGED',
      atlassianTokenId: created.id,
      expiresAt: isoSeconds(expiry),
      uploadedBy: 'admin@example.com',
    });
    expect(mint?.taskTokenSealed).toBeUndefined();
    const secretName = `token-warden.jenkins-bot.${request.name}`;
    expect(await secretValue(secretName, 'AWSPENDING')).toBe(created.token);

    expect(await verifyToken(deps, minted)).toEqual({ verifiedBy: 'myself' });
    const promoted = await promoteToken(deps, minted);
    expect(promoted).toEqual({ expiresAt: isoSeconds(expiry) });
    expect(await secretValue(secretName)).toBe(created.token);
    const described = await h.sm.send(new DescribeSecretCommand({ SecretId: secretName }));
    expect(described.VersionIdsToStages?.[minted.versionId]).toEqual(['AWSCURRENT']);
    expect(await h.deps.store.getToken(minted.tokenId)).toMatchObject({
      status: 'ACTIVE',
      generation: 1,
      expiresAt: isoSeconds(expiry),
      generations: [expect.objectContaining({ generation: 1, atlassianTokenId: created.id })],
    });
    expect((await h.deps.store.getRequest(request.requestId))?.status).toBe('ISSUED');
    expect(h.schedules.schedules.get(minted.tokenId)).toEqual({
      at: new Date(expiry.getTime() - policy.rotationLeadDays * DAY),
      executionName: `${minted.tokenId}-g2-a1`,
      input: { tokenId: minted.tokenId, generation: 2, attempt: 1 },
    });
    const audit = await h.deps.audit.list(request.requestId);
    // One upload request per admin (the notifier emails each their link), then the upload and the issue.
    expect(audit.map((r) => r.event).sort()).toEqual([
      'ISSUED',
      'TOKEN_UPLOADED',
      'UPLOAD_REQUESTED',
      'UPLOAD_REQUESTED',
    ]);
    expect(audit.find((r) => r.event === 'TOKEN_UPLOADED')).toMatchObject({
      actor: 'admin@example.com',
      tokenId: minted.tokenId,
      details: expect.objectContaining({ generation: 1, atlassianTokenId: created.id, resumed: true }),
    });

    // Single use: the same link and the other admin's link now meet a received token.
    const again = await open(links['admin@example.com']!);
    expect(again).toMatchObject({ status: 409, model: { title: 'Already used' } });
    expect(again.model.form).toBeUndefined();
    expect(await open(links['ops@example.com']!)).toMatchObject({ status: 409, model: { title: 'Already received' } });

    await expectNowhereButTheSecret(created.token, [minted, promoted, answer]);
  });

  it('verifies by listing when the scopes cannot call /myself', async () => {
    const { minted, links, expected } = await askedForUpload(['read:jira-work']);
    const created = await adminCreates(labelOf(minted), ['read:jira-work'], expected);
    expect((await uploadThrough(links['ops@example.com']!, created.token)).status).toBe(200);
    expect(await verifyToken(deps, minted)).toEqual({ verifiedBy: 'list' });
  });

  it('answers 410 once the link has expired, with nothing changed', async () => {
    const { minted, links, expected } = await askedForUpload();
    const url = links['admin@example.com']!;
    const csrf = csrfOf(await open(url));
    const created = await adminCreates(labelOf(minted), ['read:jira-work'], new Date(expected.getTime() + 5 * DAY));
    h.clock.advance(policy.approvalExpiryHours * HOUR + 1_000);
    expect((await open(url)).status).toBe(410);
    expect(await submit(url, { sig: sigOf(url), csrf, token: created.token })).toMatchObject({ status: 410 });
    expect((await h.deps.store.getMint(minted.tokenId, 1))?.state).toBe('AWAITING_UPLOAD');
    expect(resumed).toEqual([]);
  });
});

describe('when the wait ends without an upload', () => {
  it('discard revokes what an admin created under the label, refuses later uploads, and schedules the empty secret away', async () => {
    const { request, minted, links, expected } = await askedForUpload();
    const url = links['admin@example.com']!;
    const csrf = csrfOf(await open(url));
    const created = await adminCreates(labelOf(minted), request.scopes, expected);
    // The wait timed out: the Catch path discards.
    await discardToken(deps, { requestId: request.requestId });
    expect((await h.deps.store.getMint(minted.tokenId, 1))?.state).toBe('DISCARDED');
    expect(h.fakeTokens(minted.tokenId).map((t) => t.status)).toEqual(['REVOKED']);
    const described = await h.sm.send(
      new DescribeSecretCommand({ SecretId: `token-warden.jenkins-bot.${request.name}` }),
    );
    expect(described.DeletedDate).toBeDefined();
    expect(await submit(url, { sig: sigOf(url), csrf, token: created.token })).toMatchObject({
      status: 409,
      model: { title: 'No longer needed' },
    });
    expect(resumed).toEqual([]);
  });

  it('an upload that loses the race with the timeout is discarded by the failure path', async () => {
    const { request, minted, links, expected } = await askedForUpload();
    const created = await adminCreates(labelOf(minted), request.scopes, expected);
    resumeAnswer = false; // SendTaskSuccess: TaskTimedOut
    expect(await uploadThrough(links['admin@example.com']!, created.token)).toMatchObject({
      status: 409,
      model: { title: 'Too late' },
    });
    await discardToken(deps, { requestId: request.requestId });
    expect((await h.deps.store.getMint(minted.tokenId, 1))?.state).toBe('DISCARDED');
    expect(h.fakeTokens(minted.tokenId).map((t) => t.status)).toEqual(['REVOKED']);
  });
});

describe('rotation of a manually issued token', () => {
  it('asks for the next upload (g2) instead of minting, then promotes it and retires g1', async () => {
    const { tokenId, secretName, created: first } = await issuedManually();
    ses.resetHistory();
    expect(await beginRotation(deps, { tokenId, generation: 2, attempt: 1 })).toMatchObject({ proceed: true });
    const minted = await mintToken(deps, { tokenId, generation: 2 });
    expect(minted).toMatchObject({ tokenId, generation: 2, manual: true });
    expect(h.fakeTokens(tokenId).map((t) => t.label)).toEqual([`token-warden:${tokenId}:g1`]);

    await requestUpload(requestDeps(), { ...minted, taskToken: 'rotation-task-token' });
    const emails = sentEmails();
    expect(emails.map((e) => e.to).sort()).toEqual([...ADMINS].sort());
    expect(emails[0]?.text).toContain(`Label (exactly): token-warden:${tokenId}:g2`);
    expect(emails[0]?.text).toContain(`rotation of token ${tokenId} to generation 2`);

    const mint = await h.deps.store.getMint(tokenId, 2);
    const next = await adminCreates(
      labelOf(minted),
      ['read:jira-work', 'read:jira-user'],
      new Date(mint?.expiresAt ?? ''),
    );
    expect((await uploadThrough(emails[0]!.url, next.token)).status).toBe(200);
    expect(resumed).toEqual([{ taskToken: 'rotation-task-token', output: {} }]);
    await verifyToken(deps, minted);
    await promoteToken(deps, minted);
    expect(await secretValue(secretName)).toBe(next.token);
    expect(await secretValue(secretName, 'AWSPREVIOUS')).toBe(first.token);
    expect(await h.deps.store.getToken(tokenId)).toMatchObject({ status: 'ACTIVE', generation: 2 });

    expect(await revokePreviousGenerations(deps, { tokenId, generation: 2 })).toEqual({ revoked: 1 });
    expect(h.fakeTokens(tokenId).map((t) => [t.label.split(':').pop(), t.status])).toEqual([
      ['g1', 'REVOKED'],
      ['g2', 'ACTIVE'],
    ]);
    await expectNowhereButTheSecret(next.token);
    await expectNowhereButTheSecret(first.token);
  });

  it('a wrongly pasted value fails verification; the retry asks again with new links and stages under a new version', async () => {
    const { tokenId, secretName, created: current } = await issuedManually();
    await beginRotation(deps, { tokenId, generation: 2, attempt: 1 });
    const attempt1 = await mintToken(deps, { tokenId, generation: 2 });
    await requestUpload(requestDeps(), { ...attempt1, taskToken: 'attempt-1' });
    const [firstLink] = sentEmails().filter((e) => e.to === 'admin@example.com');
    const mint = await h.deps.store.getMint(tokenId, 2);
    const expected = new Date(mint?.expiresAt ?? '');
    await adminCreates(labelOf(attempt1), ['read:jira-work', 'read:jira-user'], expected);
    // The admin pastes something else: well-formed, but not a token of the service account.
    const wrong = 'ATATT3xFfGF0-not-the-value-atlassian-showed-0123456789';
    expect((await uploadThrough(firstLink!.url, wrong)).status).toBe(200);
    const failure = await verifyToken(deps, attempt1).catch((e: Error) => e);
    expect(failure).toMatchObject({ name: 'TokenVerificationError' });
    expect(String((failure as Error).message)).not.toContain(wrong);
    await discardToken(deps, { tokenId, generation: 2 });
    expect(await secretValue(secretName)).toBe(current.token);

    // The sweep's next attempt: a new round, new links, a new secret version.
    ses.resetHistory();
    const attempt2 = await mintToken(deps, { tokenId, generation: 2 });
    expect(attempt2.manual).toBe(true);
    expect(attempt2.versionId).not.toBe(attempt1.versionId);
    await requestUpload(requestDeps(), { ...attempt2, taskToken: 'attempt-2' });
    const [secondLink] = sentEmails().filter((e) => e.to === 'admin@example.com');
    expect(secondLink?.url.pathname).not.toBe(firstLink?.url.pathname);
    expect((await open(firstLink!.url)).status).toBe(409);
    const right = await adminCreates(labelOf(attempt2), ['read:jira-work', 'read:jira-user'], expected);
    expect((await uploadThrough(secondLink!.url, right.token)).status).toBe(200);
    expect(await verifyToken(deps, attempt2)).toEqual({ verifiedBy: 'myself' });
    await promoteToken(deps, attempt2);
    expect(await secretValue(secretName)).toBe(right.token);
    await expectNowhereButTheSecret(wrong, [failure]);
  });
});

describe('the sweep and a rotation waiting for an upload', () => {
  it('does not take over the lock while the admins may still upload, and does after the wait', async () => {
    const { tokenId } = await issuedManually();
    const sweepDeps = {
      ...deps,
      workflows,
      rotationStateMachineArn: 'arn:aws:states:us-east-1:000000000000:stateMachine:rot',
    };
    const token = await h.deps.store.getToken(tokenId);
    h.clock.advance(Date.parse(token?.nextRotationAt ?? '') - h.clock.now().getTime() + HOUR);
    await sweep(sweepDeps);
    expect(started).toContain(`${tokenId}-g2-a1`);

    // An API-issued token's lock is stale after two hours; this one waits for an upload for up to 72.
    started.length = 0;
    h.clock.advance(3 * HOUR);
    await sweep(sweepDeps);
    expect(started.filter((n) => n.startsWith(tokenId))).toEqual([]);

    h.clock.advance(policy.approvalExpiryHours * HOUR);
    await sweep(sweepDeps);
    expect(started).toContain(`${tokenId}-g2-a2`);
  });
});

describe('records', () => {
  it('keeps the sealed task token and the value out of the upload items', async () => {
    const { links } = await askedForUpload();
    const uploadId = uploadIdOf(links['admin@example.com']!);
    const item = await h.dynamo.doc.send(
      new GetCommand({ TableName: h.dynamo.tableName, Key: { pk: `UPL#${uploadId}`, sk: 'UPL' } }),
    );
    expect(Object.keys(item.Item ?? {}).sort()).toEqual(
      [
        'admin',
        'createdAt',
        'csrfHashes',

        'expiresAt',
        'generation',
        'pk',
        'requestId',
        'round',
        'sk',
        'status',
        'tokenId',
        'uploadId',
      ].sort(),
    );
  });
});
