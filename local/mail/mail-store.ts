/**
 * The outgoing-mail store of the local runtime. It keeps aws-ses-v2-local's record shape (so scripts written
 * against that tool work unchanged) but, unlike it, persists to a JSON file and stamps mails with the
 * simulated time.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { JsonLog } from '../aws/json-store';

/** One stored email, field for field as aws-ses-v2-local stores it. */
export interface StoredEmail {
  messageId: string;
  from: string;
  replyTo: string[];
  destination: { to: string[]; cc: string[]; bcc: string[] };
  subject: string;
  /** Absent members are omitted, as in aws-ses-v2-local. */
  body: { html?: string; text?: string };
  attachments: unknown[];
  /** When the mail was sent: simulated time, in whole seconds since the epoch (aws-ses-v2-local's unit). */
  at: number;
}

export type NewEmail = Pick<StoredEmail, 'from' | 'destination' | 'subject' | 'body'> & {
  replyTo?: string[];
};

export interface MailStoreOptions {
  /** JSON file the mails persist to; in memory when absent. */
  file?: string;
  /** The simulated clock's `now`. @default wall-clock time */
  now?: () => Date;
}

interface Document {
  emails: StoredEmail[];
}

/** Outgoing mail, oldest first. */
export class MailStore {
  /** The mails, then one line per mail added since (a mail costs its own line, not a rewrite of all of them). */
  private readonly store: JsonLog<Document, StoredEmail>;
  private readonly now: () => Date;
  private emails: StoredEmail[];

  constructor(options: MailStoreOptions = {}) {
    this.store = new JsonLog<Document, StoredEmail>(options.file, () => ({ emails: [] }));
    this.now = options.now ?? (() => new Date());
    const { document, entries } = this.store.read();
    this.emails = [...(Array.isArray(document.emails) ? document.emails : []), ...entries];
  }

  /** Stores a mail and returns it with its message id and send time. */
  add(mail: NewEmail): StoredEmail {
    const body: StoredEmail['body'] = {};
    if (mail.body.html !== undefined) body.html = mail.body.html;
    if (mail.body.text !== undefined) body.text = mail.body.text;
    const stored: StoredEmail = {
      messageId: newMessageId(),
      from: mail.from,
      replyTo: [...(mail.replyTo ?? [])],
      destination: {
        to: [...mail.destination.to],
        cc: [...mail.destination.cc],
        bcc: [...mail.destination.bcc],
      },
      subject: mail.subject,
      body,
      attachments: [],
      at: Math.floor(this.now().getTime() / 1000),
    };
    this.emails.push(stored);
    if (this.store.ready && !this.store.wantsRewrite) this.store.append(stored);
    else this.persist();
    return stored;
  }

  /** Stored mails, oldest first; with `sinceSeconds`, only those sent at or after it (as `GET /store?since=`). */
  list(sinceSeconds?: number): StoredEmail[] {
    return this.emails.filter((mail) => sinceSeconds === undefined || mail.at >= sinceSeconds);
  }

  clear(): void {
    this.emails = [];
    this.persist();
  }

  private persist(): void {
    this.store.write({ emails: this.emails });
  }
}

/** Shaped like SES message ids (`0100` + hex, a UUID, `-000000`). */
function newMessageId(): string {
  return `0100${randomBytes(6).toString('hex')}-${randomUUID()}-000000`;
}
