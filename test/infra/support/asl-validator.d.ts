/** asl-validator 4 ships no type declarations; this is the part of its API the infra tests use. */
declare module 'asl-validator' {
  interface ValidationResult {
    isValid: boolean;
    errors: unknown[];
    errorsText(separator?: string): string;
  }
  function validator(definition: object, options?: { checkPaths?: boolean; checkArn?: boolean }): ValidationResult;
  export = validator;
}
