/**
 * The import rules in biome.json (`noRestrictedImports` per folder) fail on a deliberate violation. The fixtures
 * under test/fixtures/import-rules/ mirror the project's folders; the normal lint skips them, so this test lints a
 * copy of them with the project's own configuration, the folders matching the overrides as project files do.
 */
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';

const PROJECT = resolve(__dirname, '..', '..');
const FIXTURES = join(PROJECT, 'test', 'fixtures', 'import-rules');

const OUTSIDE_FUNCTIONS = 'functions/ is what ships to Lambda: it imports nothing from lib/';
const DOMAIN = 'The domain depends on nothing outside itself';
const DOMAIN_LAMBDA = 'The domain knows no Lambda event types';
const TEST_CODE = 'bench/ and local/ import nothing from test/';
const USE_CASE = 'Use cases depend on the ports they own';
const USE_CASE_LAMBDA = 'Use cases know no Lambda event types';

/** `file → messages` of every noRestrictedImports finding when the fixtures are linted. */
function findings(): Map<string, string[]> {
  const dir = mkdtempSync(join(tmpdir(), 'token-warden-import-rules-'));
  try {
    cpSync(FIXTURES, dir, { recursive: true });
    const config = JSON.parse(readFileSync(join(PROJECT, 'biome.json'), 'utf8')) as Record<string, unknown>;
    // The project's rules as they are; only which files to read differs (the copy is not a git work tree).
    config.files = { ignoreUnknown: true, includes: ['**'] };
    config.vcs = { enabled: false };
    writeFileSync(join(dir, 'biome.json'), JSON.stringify(config));
    const biome = join(PROJECT, 'node_modules', '.bin', 'biome');
    const run = spawnSync(biome, ['lint', '--reporter=github', '--max-diagnostics=1000', '.'], {
      cwd: dir,
      encoding: 'utf8',
    });
    const found = new Map<string, string[]>();
    for (const line of run.stdout.split('\n')) {
      const m = /^::error title=lint\/style\/noRestrictedImports,file=([^,]+),.*?::(.*)$/.exec(line);
      if (!m) continue;
      const file = relative(dir, m[1]!);
      found.set(file, [...(found.get(file) ?? []), m[2]!]);
    }
    if (found.size === 0) throw new Error(`biome reported no import finding:\n${run.stdout}\n${run.stderr}`);
    return found;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each fixture that breaks a rule, and the rule's message. */
const VIOLATIONS: [string, string][] = [
  ['functions/domain/imports-sdk.ts', DOMAIN],
  ['functions/domain/imports-aws-lambda.ts', DOMAIN_LAMBDA],
  ['functions/domain/imports-adapter.ts', DOMAIN],
  ['functions/domain/imports-use-case.ts', DOMAIN],
  ['functions/domain/imports-lib.ts', OUTSIDE_FUNCTIONS],
  ['functions/api/imports-lib.ts', OUTSIDE_FUNCTIONS],
  ['functions/api/imports-local.ts', OUTSIDE_FUNCTIONS],
  ['functions/api/imports-bench.ts', OUTSIDE_FUNCTIONS],
  ['functions/api/imports-test.ts', OUTSIDE_FUNCTIONS],
  ['functions/use-cases/imports-adapter.ts', USE_CASE],
  ['functions/use-cases/imports-sdk.ts', USE_CASE],
  ['functions/use-cases/imports-edge.ts', USE_CASE],
  ['functions/use-cases/imports-aws-lambda.ts', USE_CASE_LAMBDA],
  ['bench/imports-test.ts', TEST_CODE],
  ['local/imports-test.ts', TEST_CODE],
  ['local/aws/imports-test.ts', TEST_CODE],
];

describe('import rules', () => {
  const found = findings();

  it.each(VIOLATIONS)('%s fails with exactly its rule', (file, message) => {
    const messages = found.get(file) ?? [];
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain(message);
  });

  it('lets each folder import what its layer may (the allowed.ts fixtures pass)', () => {
    expect([...found.keys()].sort()).toEqual(VIOLATIONS.map(([file]) => file).sort());
  });
});

describe('the normal lint', () => {
  it('skips the fixtures', () => {
    const biome = join(PROJECT, 'node_modules', '.bin', 'biome');
    const run = spawnSync(biome, ['lint', '--reporter=github', 'test/fixtures/import-rules'], {
      cwd: PROJECT,
      encoding: 'utf8',
    });
    expect(run.stdout).not.toContain('noRestrictedImports');
  });
});
