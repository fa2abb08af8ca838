import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import type { Email, Mailer } from '../../use-cases/ports';
import { aws } from './errors';

/** Sends one email per recipient through SES v2. */
export class SesMailer implements Mailer {
  constructor(
    private readonly from: string,
    private readonly ses: SESv2Client = new SESv2Client({}),
  ) {}

  async send(email: Email): Promise<string | undefined> {
    const out = await aws('SESv2.SendEmail', () =>
      this.ses.send(
        new SendEmailCommand({
          FromEmailAddress: this.from,
          Destination: { ToAddresses: [email.to] },
          Content: {
            Simple: {
              Subject: { Data: email.subject, Charset: 'UTF-8' },
              Body: { Text: { Data: email.text, Charset: 'UTF-8' }, Html: { Data: email.html, Charset: 'UTF-8' } },
            },
          },
        }),
      ),
    );
    return out.MessageId;
  }
}
