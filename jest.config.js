/**
 * Projects: `unit` and `infra` are the inner loop (`npm run test:fast`); `emulators` tests the local runtime's
 * emulated services; `e2e` drives the whole local runtime. `npm test` runs all four.
 *
 * SWC compiles TypeScript without type-checking (`npm run build` type-checks) and hoists `jest.mock` calls.
 * `@middy/*` ships ESM only: it is mapped to its entry file and compiled to CommonJS with the rest.
 */
const { availableParallelism } = require('node:os');

const swc = (syntax) => [
  '@swc/jest',
  {
    jsc: {
      parser: syntax === 'typescript' ? { syntax } : { syntax: 'ecmascript' },
      target: 'es2022',
      transform: { useDefineForClassFields: true },
    },
    module: { type: 'commonjs' },
    sourceMaps: 'inline',
  },
];

/** @type {import('jest').Config} */
const common = {
  testEnvironment: 'node',
  moduleNameMapper: { '^@middy/([^/]+)$': '<rootDir>/node_modules/@middy/$1/index.js' },
  transform: { '^.+\\.tsx?$': swc('typescript'), '^.+\\.jsx?$': swc('ecmascript') },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  setupFiles: ['<rootDir>/test/setup/polyfills.ts'],
};

/** The emulators' own suites (everything else under test/unit is `unit`). */
const EMULATOR_SUITES = ['<rootDir>/test/unit/local-*.test.ts', '<rootDir>/test/unit/fake-atlassian.test.ts'];

module.exports = {
  // Jest's default leaves one core to its parent process, which only collects results: on a 2-core machine that is
  // one test file at a time, while e2e files mostly wait on their runtime's processes.
  maxWorkers: Math.max(2, availableParallelism() - 1),
  projects: [
    {
      ...common,
      displayName: 'unit',
      testMatch: ['<rootDir>/test/unit/**/*.test.ts', '<rootDir>/console/test/**/*.test.ts'],
      testPathIgnorePatterns: [
        '/node_modules/',
        '/test/unit/local-[^/]*\\.test\\.ts$',
        '/test/unit/fake-atlassian\\.test\\.ts$',
      ],
    },
    { ...common, displayName: 'emulators', testMatch: EMULATOR_SUITES },
    { ...common, displayName: 'infra', testMatch: ['<rootDir>/test/infra/**/*.test.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      // One synthesis of the CDK app for every runtime the e2e files start.
      globalSetup: '<rootDir>/test/setup/synthesize-once.ts',
    },
  ],
};
