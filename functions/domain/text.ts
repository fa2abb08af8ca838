/**
 * Text a requester typed, as it may appear in an email or a page: one line, one direction, nothing hidden. Pure.
 *
 * Refused at the API and neutralised again when rendering (records stored before the refusal may hold them):
 * control characters (C0 with tab, CR and LF; DEL; C1 with NEL), format characters (the bidi embeddings, overrides,
 * isolates and marks U+202A–U+202E, U+2066–U+2069, U+200E, U+200F, U+061C; the zero-widths U+200B–U+200D, U+2060,
 * U+FEFF; soft hyphen, tags and the rest of Unicode's `Cf`), the line and paragraph separators U+2028 and U+2029,
 * and lone surrogates.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/u;
const UNSAFE_ALL = /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}]/gu;

/** Whether `value` holds a character that could start a line, hide text or change direction where it is shown. */
export function hasUnsafeCharacters(value: string): boolean {
  return UNSAFE.test(value);
}

/** `value` on one line: every unsafe character written out as its `\uXXXX` escape, visible and inert. */
export function inline(value: string): string {
  return value.replace(UNSAFE_ALL, (c) => {
    const code = c.codePointAt(0) ?? 0;
    const hex = code.toString(16).padStart(4, '0');
    return code > 0xffff ? `\\u{${hex}}` : `\\u${hex}`;
  });
}

/**
 * `value` as it may appear in an email: on one line (see {@link inline}), with every `scheme://` written
 * `scheme[:]//`, so mail clients link nothing in it and the email's own link stays the only one.
 */
export function inlineForEmail(value: string): string {
  return inline(value).replace(/([a-z][a-z0-9+.-]*):(?=\/\/)/gi, '$1[:]');
}

/** `value` with the five HTML-significant characters written as entities (text and attribute values alike). */
export function escapeHtml(value: string): string {
  return value
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
