/**
 * The machine's own tools the end-to-end tests use as a user would: the AWS CLI (as CI reads a secret) and a
 * headless Chromium (as an approver opens the emailed link). A missing tool fails the test with the command
 * that installs it, rather than skipping: a skipped end-to-end test hides a broken path.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { type BrowserContext, chromium } from 'playwright-core';

const CHROMIUM = '/usr/bin/chromium';

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * The AWS CLI: Debian's `/usr/bin/aws` first (another, older CLI may come first on PATH), else the first on
 * PATH.
 */
export function awsCli(): string {
  const candidates = ['/usr/bin/aws', ...(process.env.PATH ?? '').split(delimiter).map((dir) => join(dir, 'aws'))];
  const found = candidates.find(executable);
  if (!found) {
    throw new Error('the AWS CLI (aws) is not installed; install it with:\napt-get install -y awscli');
  }
  return found;
}

/** Runs the AWS CLI against `endpoint` with throwaway credentials, as the start-up walkthrough does. */
export function runAws(endpoint: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    AWS_ACCESS_KEY_ID: 'test',
    AWS_SECRET_ACCESS_KEY: 'test',
    AWS_REGION: 'us-east-1',
    AWS_DEFAULT_REGION: 'us-east-1',
    AWS_PAGER: '',
  };
  // A profile or config file of the developer's must not redirect the call.
  delete env.AWS_PROFILE;
  delete env.AWS_SESSION_TOKEN;
  return new Promise((resolveRun) => {
    execFile(awsCli(), ['--endpoint-url', endpoint, ...args], { env, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolveRun({ code, stdout, stderr });
    });
  });
}

/** A fresh headless Chromium context with its own user-data dir; `close()` removes both. */
export async function launchBrowser(): Promise<{ context: BrowserContext; close: () => Promise<void> }> {
  if (!executable(CHROMIUM)) {
    throw new Error(`Chromium is not installed at ${CHROMIUM}; install it with:\napt-get install -y chromium`);
  }
  const userDataDir = mkdtempSync(join(tmpdir(), 'token-warden-e2e-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}
