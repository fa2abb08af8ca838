/** The console's pure rules: where a sign-in may come back to, and which 401 a new sign-in mends. */
import { ApiError, apiErrorOf, isAuthorizerRefusal } from '../src/api-errors';
import { isConsolePage } from '../src/config';

describe('Function: isConsolePage', () => {
  it.each([
    ['/console', true],
    ['/console/', true],
    ['/console/tokens/tok_abc?x=1', true],
    ['/console/callback', false],
    ['/console/callback?code=x', false],
    ['/consolex', false],
    ['//evil.example/console/', false],
    ['/api/console/', false],
    ['https://evil.example/console/', false],
  ])('%s → %s', (path, expected) => {
    // Act / Assess
    expect(isConsolePage(path)).toBe(expected);
  });
});

describe('Function: isAuthorizerRefusal', () => {
  it("is the JWT authorizer's 401 alone, never the API's own 401 or another status", () => {
    // Act / Assess
    expect(isAuthorizerRefusal(401, { message: 'Unauthorized' })).toBe(true);
    expect(isAuthorizerRefusal(401, undefined)).toBe(true);
    expect(isAuthorizerRefusal(401, { error: { code: 'UNAUTHORIZED', message: 'the token has no email claim' } })).toBe(
      false,
    );
    expect(isAuthorizerRefusal(403, { message: 'Forbidden' })).toBe(false);
  });
});

describe('Function: apiErrorOf', () => {
  it("reads the API's error shape, API Gateway's, and a body with neither", () => {
    // Act
    const api = apiErrorOf(400, {
      error: { code: 'VALIDATION_ERROR', message: 'must be at most 90', field: 'lifetimeDays' },
    });
    const gateway = apiErrorOf(404, { message: 'Not Found' });
    const none = apiErrorOf(502, 'Bad Gateway');

    // Assess
    expect(api).toBeInstanceOf(ApiError);
    expect([api.status, api.code, api.message, api.field]).toEqual([
      400,
      'VALIDATION_ERROR',
      'must be at most 90',
      'lifetimeDays',
    ]);
    expect([gateway.code, gateway.message, gateway.field]).toEqual(['NOT_FOUND', 'Not Found', undefined]);
    expect([none.code, none.message]).toEqual(['HTTP_502', 'The API answered 502.']);
  });
});
