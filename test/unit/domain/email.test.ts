import { emailUnverified, plainEmail } from '../../../functions/domain/email';

describe('plainEmail: the emails that identify people are plain ASCII, compared lower-cased', () => {
  it.each([
    ['alice@example.com', 'alice@example.com'],
    ['ALICE@Example.COM', 'alice@example.com'],
    ["o'brien+ci@example.com", "o'brien+ci@example.com"],
    ['first.last@sub.example.co.uk', 'first.last@sub.example.co.uk'],
    ['kate@xn--bcher-kva.example', 'kate@xn--bcher-kva.example'],
    ['kate@XN--BCHER-KVA.example', 'kate@xn--bcher-kva.example'],
  ])('accepts %s as %s', (email, expected) => {
    expect(plainEmail(email)).toBe(expected);
  });

  it.each([
    ['a KELVIN SIGN, which lower-cases to k', '\u212Aate@example.com'],
    ['a fullwidth letter, which NFKC folds', '\uff4bate@example.com'],
    ['a ligature, which NFKC unfolds', 'kate@exam\ufb02e.com'],
    ['a Cyrillic a', 'kate@ex\u0430mple.com'],
    ['a dotted capital I', '\u0130kate@example.com'],
    ['a combining accent', 'kate\u0301@example.com'],
    ['a zero-width space', 'ka\u200bte@example.com'],
    ['a right-to-left override', '\u202ekate@example.com'],
    ['a lone surrogate', '\ud800@example.com'],
    ['a Unicode domain not IDNA-encoded', 'kate@b\u00fccher.example'],
    ['an xn-- label that is not valid IDNA', 'kate@xn--zz.example'],
    ['a quoted local part', '"kate"@example.com'],
    ['a space', 'kate @example.com'],
    ['a NUL', 'kate\u0000@example.com'],
    ['two @', 'kate@example.com@evil.example'],
    ['no local part', '@example.com'],
    ['no domain', 'kate@'],
    ['an empty domain label', 'kate@example..com'],
    ['a domain label ending in a hyphen', 'kate@example-.com'],
    ['a leading dot', '.kate@example.com'],
    ['a bracketed list, as a flattened array', '[kate@example.com]'],
    ['a local part over 64 characters', `${'k'.repeat(65)}@example.com`],
    ['over 254 characters', `kate@${'e'.repeat(63)}.${'e'.repeat(63)}.${'e'.repeat(63)}.${'e'.repeat(60)}.com`],
  ])('refuses an email with %s', (_what, email) => {
    expect(plainEmail(email)).toBeUndefined();
  });

  it('never maps two different accepted emails onto one unless they differ only by ASCII case', () => {
    const a = plainEmail('Kate@example.com');
    const b = plainEmail('kate@EXAMPLE.com');
    expect(a).toBe(b);
    expect(plainEmail('\u212Aate@example.com')).toBeUndefined();
  });
});

describe('emailUnverified', () => {
  it.each<[unknown, boolean]>([
    [false, true],
    ['false', true],
    [true, false],
    ['true', false],
    [undefined, false],
    [null, false],
  ])('email_verified %p → %p', (claim, refused) => {
    expect(emailUnverified(claim)).toBe(refused);
  });
});
