/**
 * The local mail viewer (port 8005 by default): `GET /store` and `POST /clear-store` as aws-ses-v2-local
 * serves them, plus a plain HTML page at `/` that lists the mails, newest first, with clickable links.
 *
 * Unlike aws-ses-v2-local, it answers only a loopback `Host` (403 otherwise: a DNS-rebinding page could read the
 * approval links), and `POST /clear-store` needs `Content-Type: application/json`, or the page's own form
 * (`application/x-www-form-urlencoded` from this origin or from a client that sends no `Origin`): 415 for any other
 * type, 403 from another origin (`../http-guard.ts`).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { closeServer, listenOn } from '../aws/edge';
import { localPostRefusal, loopbackHostProblem } from '../http-guard';
import type { MailStore, StoredEmail } from './mail-store';

export interface MailServer {
  /** Starts serving; rejects with `port <n> is already in use` when the port is taken. */
  listen(port: number, host?: string): Promise<Server>;
  close(): Promise<void>;
  /** The request listener, for embedding. */
  readonly handler: (req: IncomingMessage, res: ServerResponse) => void;
}

/** Creates the mail viewer over `store`. */
export function createMailServer(options: { store: MailStore }): MailServer {
  const { store } = options;
  let server: Server | undefined;

  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    // The body of POST /clear-store carries nothing; drain it so the connection can be reused.
    req.resume();
    const url = new URL(req.url ?? '/', 'http://localhost');
    const route = `${req.method ?? 'GET'} ${url.pathname}`;
    const hostProblem = loopbackHostProblem(req);
    const refusal =
      hostProblem === undefined && req.method === 'POST' ? localPostRefusal(req, ['json', 'form']) : undefined;
    if (hostProblem) {
      sendJson(res, 403, { message: `Forbidden: ${hostProblem}` });
    } else if (refusal) {
      sendJson(res, refusal.status, { message: refusal.message });
    } else if (route === 'GET /store') {
      const since = url.searchParams.get('since');
      if (since !== null && !/^\d+$/.test(since)) {
        sendJson(res, 400, {
          message: 'Bad since query param, expected integer representing epoch timestamp in seconds',
        });
      } else {
        sendJson(res, 200, { templates: {}, emails: store.list(since === null ? undefined : Number(since)) });
      }
    } else if (route === 'POST /clear-store') {
      store.clear();
      // The page's own "Clear" button posts a form: send the browser back to the list.
      if ((req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded')) {
        res.writeHead(303, { location: '/' });
        res.end();
      } else {
        sendJson(res, 200, { message: 'Store cleared' });
      }
    } else if (route === 'GET /health-check') {
      res.writeHead(200);
      res.end();
    } else if (route === 'GET /') {
      res.writeHead(200, {
        'content-type': 'text/html; charset=utf-8',
        'cache-control': 'no-store',
        'referrer-policy': 'no-referrer',
        // Mail HTML is shown in a sandboxed frame; nothing in a mail may run script or load resources.
        'content-security-policy':
          "default-src 'none'; style-src 'unsafe-inline'; frame-src 'self'; form-action 'self'; base-uri 'none'",
      });
      res.end(renderPage([...store.list()].reverse()));
    } else {
      sendJson(res, 404, { message: 'Not Found' });
    }
  };

  return {
    handler,
    async listen(port, host = '127.0.0.1') {
      const created = createServer(handler);
      await listenOn(created, port, host);
      server = created;
      return created;
    },
    async close() {
      const current = server;
      server = undefined;
      if (current) await closeServer(current);
    },
  };
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

const URL_PATTERN = /https?:\/\/[^\s<>"']+/g;

/** Escapes plain text and turns every http(s) URL in it into a link. */
export function linkify(text: string): string {
  let html = '';
  let last = 0;
  for (const match of text.matchAll(URL_PATTERN)) {
    // Sentence punctuation right after a URL belongs to the sentence.
    const url = match[0].replace(/[.,;:!?)\]]+$/, '');
    const start = match.index;
    html += escapeHtml(text.slice(last, start));
    html += `<a href="${escapeHtml(url)}" rel="noreferrer noopener">${escapeHtml(url)}</a>`;
    last = start + url.length;
  }
  return html + escapeHtml(text.slice(last));
}

function renderPage(emails: readonly StoredEmail[]): string {
  const items = emails.map(renderEmail).join('\n');
  return `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Token Warden — local mail</title>
<style>
  body { font-family: system-ui, sans-serif; margin: 1.5rem 2rem; max-width: 60rem; }
  header { display: flex; align-items: center; gap: 1rem; }
  header h1 { flex: 1; font-size: 1.4rem; }
  article { border: 1px solid #ccc; border-radius: 6px; padding: 0.8rem 1rem; margin-bottom: 1rem; }
  article h2 { font-size: 1.1rem; margin: 0 0 0.4rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.1rem 0.8rem; margin: 0 0 0.6rem; font-size: 0.9rem; }
  dt { color: #555; }
  dd { margin: 0; }
  pre { white-space: pre-wrap; word-break: break-word; background: #f6f6f6; padding: 0.7rem; border-radius: 4px; }
  iframe { width: 100%; height: 28rem; border: 1px solid #ccc; }
</style>
</head>
<body>
<header>
  <h1>Outgoing mail (${emails.length})</h1>
  <a href="/">Refresh</a>
  <form method="post" action="/clear-store"><button type="submit">Clear</button></form>
</header>
${items || '<p>No mail has been sent yet.</p>'}
<p>The same data as JSON: <a href="/store"><code>GET /store</code></a>.</p>
</body>
</html>
`;
}

function renderEmail(email: StoredEmail): string {
  const recipients = (label: string, list: readonly string[]) =>
    list.length > 0 ? `<dt>${label}</dt><dd>${escapeHtml(list.join(', '))}</dd>` : '';
  const sent = new Date(email.at * 1000).toISOString();
  const text =
    email.body.text !== undefined ? `<pre>${linkify(email.body.text)}</pre>` : '<p><em>No text version.</em></p>';
  const html =
    email.body.html !== undefined
      ? `<details><summary>HTML version</summary><iframe sandbox title="HTML version" srcdoc="${escapeHtml(email.body.html)}"></iframe></details>`
      : '';
  return `<article id="${escapeHtml(email.messageId)}">
  <h2>${escapeHtml(email.subject)}</h2>
  <dl>
    <dt>From</dt><dd>${escapeHtml(email.from)}</dd>
    ${recipients('To', email.destination.to)}${recipients('Cc', email.destination.cc)}${recipients('Bcc', email.destination.bcc)}
    <dt>Sent</dt><dd><time datetime="${sent}">${sent}</time></dd>
  </dl>
  ${text}
  ${html}
</article>`;
}
