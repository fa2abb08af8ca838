/**
 * The stylesheet of the pages behind emailed links (approval and upload pages). Those pages carry no inline style
 * (their Content-Security-Policy allows none): they link this sheet, which the console's assets function serves
 * under a name that carries a hash of its content, so it can be cached for good and never go stale.
 */
export const PAGE_CSS = [
  ':root{color-scheme:light;--ink:#172b4d;--muted:#44546f;--line:#c1c7d0;--accent:#0b57d0;--danger:#ae2e24}',
  'body{font-family:system-ui,-apple-system,"Segoe UI",sans-serif;color:var(--ink);background:#fff;line-height:1.5;max-width:42rem;margin:2rem auto;padding:0 1rem}',
  'h1{font-size:1.5rem;margin:0 0 .5rem}h2{font-size:1.15rem;margin:1.5rem 0 .5rem}',
  'table{table-layout:fixed;width:100%;border-collapse:collapse}',
  'th{width:34%;padding:.25rem 1rem .25rem 0;vertical-align:top;text-align:left;color:var(--muted);font-weight:600}',
  'td{padding:.25rem 0;overflow-wrap:anywhere}',
  'input{font:inherit;margin:.5rem 0;padding:.5rem;border:1px solid var(--muted);border-radius:4px;max-width:100%;box-sizing:border-box}',
  'button{font:inherit;margin:.5rem 1rem .5rem 0;padding:.5rem 1.5rem;border-radius:4px;border:1px solid var(--accent);background:var(--accent);color:#fff;cursor:pointer}',
  'button[value=reject]{background:#fff;color:var(--danger);border-color:var(--danger)}',
  'a{color:var(--accent)}',
  ':focus-visible{outline:3px solid #1d7afc;outline-offset:2px}',
].join('\n');

/** A 53-bit FNV-1a-style digest of `text` in base 36: a stable content hash without a crypto dependency. */
export function contentHash(text: string): string {
  let h1 = 0xdeadbeef;
  let h2 = 0x41c6ce57;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 2654435761);
    h2 = Math.imul(h2 ^ c, 1597334677);
  }
  h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507) ^ Math.imul(h2 ^ (h2 >>> 13), 3266489909);
  h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507) ^ Math.imul(h1 ^ (h1 >>> 13), 3266489909);
  return (4294967296 * (2097151 & h2) + (h1 >>> 0)).toString(36);
}

/** Where the pages' stylesheet is served (same origin as the pages: the HTTP API). */
export const PAGE_STYLESHEET_PATH = `/console/assets/page.${contentHash(PAGE_CSS)}.css`;
