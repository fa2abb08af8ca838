import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetAccountCommand, SESv2Client, SendEmailCommand, type SendEmailCommandInput } from '@aws-sdk/client-sesv2';
import { type AwsEdge, createAwsEdge } from '../../local/aws/edge';
import { createSesV2 } from '../../local/aws/sesv2';
import { createMailServer, linkify, type MailServer } from '../../local/mail/mail-server';
import { MailStore } from '../../local/mail/mail-store';
import { crossSiteTextPost, loopbackHosts, rawRequest, rebindingHost } from './support/browser-requests';

const credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

function email(overrides: Partial<SendEmailCommandInput> = {}): SendEmailCommandInput {
  return {
    FromEmailAddress: 'token-warden@example.com',
    Destination: { ToAddresses: ['approver1@example.com'] },
    Content: {
      Simple: {
        Subject: { Data: 'Approve token jenkins-bot/ci' },
        Body: {
          Text: { Data: 'Please decide:\nhttp://127.0.0.1:3000/approvals/a1?sig=x&y=1\n' },
          Html: { Data: '<p>Please decide</p>' },
        },
      },
    },
    ...overrides,
  };
}

describe('local mail (SES v2 + mail store + mail server)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'tw-mail-'));
  const file = join(dir, 'mail.json');
  let simulatedNow = new Date('2030-03-04T05:06:07.890Z');
  const store = new MailStore({ file, now: () => simulatedNow });
  let edge: AwsEdge;
  let mail: MailServer;
  let ses: SESv2Client;
  let mailUrl: string;

  beforeAll(async () => {
    edge = createAwsEdge({ services: [createSesV2({ mailStore: store })] });
    const awsServer = await edge.listen(0);
    mail = createMailServer({ store });
    const mailServer = await mail.listen(0);
    mailUrl = `http://127.0.0.1:${(mailServer.address() as { port: number }).port}`;
    ses = new SESv2Client({
      endpoint: `http://127.0.0.1:${(awsServer.address() as { port: number }).port}`,
      region: 'us-east-1',
      credentials,
    });
  });

  afterAll(async () => {
    await edge.close();
    await mail.close();
    rmSync(dir, { recursive: true, force: true });
  });

  beforeEach(() => store.clear());

  it('stores a sent email in aws-ses-v2-local’s shape at the simulated time', async () => {
    const sent = await ses.send(
      new SendEmailCommand(
        email({
          Destination: {
            ToAddresses: ['approver1@example.com'],
            CcAddresses: ['Admin <admin@example.com>'],
            BccAddresses: ['audit@example.com'],
          },
          ReplyToAddresses: ['noreply@example.com'],
        }),
      ),
    );

    const response = await fetch(`${mailUrl}/store`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      templates: {},
      emails: [
        {
          messageId: sent.MessageId,
          from: 'token-warden@example.com',
          replyTo: ['noreply@example.com'],
          destination: {
            to: ['approver1@example.com'],
            cc: ['Admin <admin@example.com>'],
            bcc: ['audit@example.com'],
          },
          subject: 'Approve token jenkins-bot/ci',
          body: {
            html: '<p>Please decide</p>',
            text: 'Please decide:\nhttp://127.0.0.1:3000/approvals/a1?sig=x&y=1\n',
          },
          attachments: [],
          at: Math.floor(Date.parse('2030-03-04T05:06:07.890Z') / 1000),
        },
      ],
    });
    expect(sent.MessageId).toMatch(/^0100[0-9a-f]{12}-[0-9a-f-]{36}-000000$/);
  });

  it('omits a body part that was not sent, as aws-ses-v2-local does', async () => {
    await ses.send(
      new SendEmailCommand(
        email({ Content: { Simple: { Subject: { Data: 'S' }, Body: { Text: { Data: 'only text' } } } } }),
      ),
    );

    const { emails } = (await (await fetch(`${mailUrl}/store`)).json()) as { emails: { body: unknown }[] };

    expect(emails[0]?.body).toEqual({ text: 'only text' });
  });

  it.each([
    ['no sender', { FromEmailAddress: undefined }, 'FromEmailAddress is required.'],
    ['no recipients', { Destination: {} }, 'Destination must contain at least one recipient.'],
    ['an address without a domain', { Destination: { ToAddresses: ['approver1'] } }, "Missing final '@domain'"],
    ['an illegal address', { Destination: { ToAddresses: ['a b@example.com'] } }, 'Illegal address'],
    [
      'more than 50 recipients',
      { Destination: { ToAddresses: Array.from({ length: 51 }, (_, i) => `u${i}@example.com`) } },
      'Recipient count exceeds 50.',
    ],
    ['no body', { Content: { Simple: { Subject: { Data: 'S' }, Body: {} } } }, 'Body must contain Text or Html.'],
    ['no subject', { Content: { Simple: { Body: { Text: { Data: 't' } } } } }, 'Subject is required.'],
    ['raw content', { Content: { Raw: { Data: Buffer.from('x') } } }, 'Simple content only'],
  ] as [string, Partial<SendEmailCommandInput>, string][])(
    'rejects %s with BadRequestException',
    async (_, overrides, message) => {
      const attempt = ses.send(new SendEmailCommand(email(overrides)));

      await expect(attempt).rejects.toMatchObject({
        name: 'BadRequestException',
        message: expect.stringContaining(message),
        $metadata: expect.objectContaining({ httpStatusCode: 400 }),
      });
      expect(store.list()).toEqual([]);
    },
  );

  it('answers GetAccount', async () => {
    const account = await ses.send(new GetAccountCommand({}));

    expect(account).toMatchObject({ SendingEnabled: true, ProductionAccessEnabled: true });
  });

  it('persists mail to its file', async () => {
    await ses.send(new SendEmailCommand(email()));

    const reopened = new MailStore({ file });

    expect(reopened.list()).toEqual(store.list());
    expect(reopened.list()).toHaveLength(1);
  });

  it('filters GET /store by ?since= in epoch seconds, and rejects a bad value', async () => {
    simulatedNow = new Date('2030-03-04T00:00:00Z');
    await ses.send(new SendEmailCommand(email({ Destination: { ToAddresses: ['early@example.com'] } })));
    simulatedNow = new Date('2030-03-05T00:00:00Z');
    await ses.send(new SendEmailCommand(email({ Destination: { ToAddresses: ['late@example.com'] } })));

    const since = Date.parse('2030-03-05T00:00:00Z') / 1000;
    const filtered = (await (await fetch(`${mailUrl}/store?since=${since}`)).json()) as {
      emails: { destination: { to: string[] } }[];
    };
    const bad = await fetch(`${mailUrl}/store?since=yesterday`);

    expect(filtered.emails.map((e) => e.destination.to)).toEqual([['late@example.com']]);
    expect(bad.status).toBe(400);
  });

  it('empties the store on POST /clear-store', async () => {
    await ses.send(new SendEmailCommand(email()));

    const response = await fetch(`${mailUrl}/clear-store`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
    });

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ message: 'Store cleared' });
    expect(store.list()).toEqual([]);
    expect(new MailStore({ file }).list()).toEqual([]);
  });

  it('lists mail newest first on the HTML page, escaped, with clickable links', async () => {
    simulatedNow = new Date('2030-03-04T00:00:00Z');
    await ses.send(
      new SendEmailCommand(
        email({ Content: { Simple: { Subject: { Data: 'First mail' }, Body: { Text: { Data: 'one' } } } } }),
      ),
    );
    simulatedNow = new Date('2030-03-05T00:00:00Z');
    await ses.send(
      new SendEmailCommand(
        email({
          Content: {
            Simple: {
              Subject: { Data: 'Second <b>mail</b>' },
              Body: { Text: { Data: 'Open http://127.0.0.1:3000/approvals/a2?sig=s&x=1.\n<script>alert(1)</script>' } },
            },
          },
        }),
      ),
    );

    const response = await fetch(`${mailUrl}/`);
    const html = await response.text();

    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(html.indexOf('Second &lt;b&gt;mail&lt;/b&gt;')).toBeGreaterThan(-1);
    expect(html.indexOf('Second &lt;b&gt;mail&lt;/b&gt;')).toBeLessThan(html.indexOf('First mail'));
    expect(html).toContain(
      '<a href="http://127.0.0.1:3000/approvals/a2?sig=s&amp;x=1" rel="noreferrer noopener">http://127.0.0.1:3000/approvals/a2?sig=s&amp;x=1</a>.',
    );
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script>');
    expect(html).toContain('approver1@example.com');
    expect(html).toContain('2030-03-05T00:00:00.000Z');
  });

  it('linkifies URLs in text and escapes everything else', () => {
    expect(linkify('see <https://x.test/a?b=1&c=2>, ok')).toBe(
      'see &lt;<a href="https://x.test/a?b=1&amp;c=2" rel="noreferrer noopener">https://x.test/a?b=1&amp;c=2</a>&gt;, ok',
    );
  });

  describe('requests a browser page can make (DNS rebinding, cross-site POSTs)', () => {
    it('refuses a foreign Host with 403, showing no mail', async () => {
      await ses.send(new SendEmailCommand(email()));

      const store = await rawRequest(`${mailUrl}/store`, { headers: { host: rebindingHost(mailUrl) } });
      const page = await rawRequest(`${mailUrl}/`, { headers: { host: rebindingHost(mailUrl) } });

      for (const answer of [store, page]) {
        expect(answer.status).toBe(403);
        expect(answer.text).toContain("Host 'rebind.attacker.example:");
        expect(answer.text).not.toContain('/approvals/a1');
      }
    });

    it('serves the loopback Host forms', async () => {
      const statuses = [];
      for (const host of loopbackHosts(mailUrl)) {
        statuses.push((await rawRequest(`${mailUrl}/store`, { headers: { host } })).status);
      }
      expect(statuses).toEqual(loopbackHosts(mailUrl).map(() => 200));
    });

    it('refuses cross-site POST /clear-store (text/plain, no type, or a form from another origin), keeping the mail', async () => {
      await ses.send(new SendEmailCommand(email()));

      const textPlain = await crossSiteTextPost(`${mailUrl}/clear-store`, '');
      const untyped = await rawRequest(`${mailUrl}/clear-store`, { method: 'POST' });
      const form = (headers: Record<string, string>) =>
        rawRequest(`${mailUrl}/clear-store`, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers },
          body: '',
        });
      const foreignForm = await form({ origin: 'https://attacker.example', 'sec-fetch-site': 'cross-site' });
      // Another local port is the same site (127.0.0.1), but not the same origin.
      const otherPortForm = await form({ origin: 'http://127.0.0.1:3000', 'sec-fetch-site': 'same-site' });
      // A sandboxed frame sends Origin: null; without Fetch Metadata it cannot be told from the page's own form.
      const opaqueForm = await form({ origin: 'null' });

      expect([textPlain.status, untyped.status, foreignForm.status, otherPortForm.status, opaqueForm.status]).toEqual([
        415, 415, 403, 403, 403,
      ]);
      expect(store.list()).toHaveLength(1);
    });

    it("clears the store from the page's own Clear button (a form posted from the mail server's origin)", async () => {
      await ses.send(new SendEmailCommand(email()));

      // What Chromium sends for that form: the page's `Referrer-Policy: no-referrer` makes its Origin `null`.
      const answer = await rawRequest(`${mailUrl}/clear-store`, {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          origin: 'null',
          'sec-fetch-site': 'same-origin',
        },
        body: '',
      });

      expect(answer.status).toBe(303);
      expect(answer.headers.location).toBe('/');
      expect(store.list()).toEqual([]);
    });
  });

  it('answers unknown mail-server routes with 404', async () => {
    const response = await fetch(`${mailUrl}/nope`);

    expect(response.status).toBe(404);
  });
});
