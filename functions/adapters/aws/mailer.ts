import { SESv2Client, SendEmailCommand } from '@aws-sdk/client-sesv2';
import { EmailRejectedError } from '../../use-cases/port-errors';
import type { Email, Mailer } from '../../use-cases/ports';
import { aws } from './errors';

/** SES errors that refuse this message for good: sending the same message again cannot succeed. */
const REFUSALS = new Set(['MessageRejected', 'BadRequestException']);

/** Sends one email per recipient through SES v2; a refusal for good is an `EmailRejectedError`. */
export class SesMailer implements Mailer {
  constructor(
    private readonly from: string,
    private readonly ses: SESv2Client = new SESv2Client({}),
  ) {}

  async send(email: Email): Promise<string | undefined> {
    const out = await aws('SESv2.SendEmail', async () => {
      try {
        return await this.sendOne(email);
      } catch (error) {
        if (error instanceof Error && REFUSALS.has(error.name)) {
          throw new EmailRejectedError(`SESv2.SendEmail refused the message (${error.name})`, { cause: error });
        }
        throw error;
      }
    });
    return out.MessageId;
  }

  private sendOne(email: Email) {
    return this.ses.send(
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
    );
  }
}
