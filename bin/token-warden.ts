#!/usr/bin/env node
import { App } from 'aws-cdk-lib';
import { PolicyError } from '../functions/domain/policy';
import { addTokenWarden } from '../lib/app';

const app = new App();
try {
  addTokenWarden(app);
} catch (error) {
  if (!(error instanceof PolicyError)) throw error;
  // The policy's own lines are the whole message: no stack trace, nothing synthesized.
  process.stderr.write(`${error.lines.join('\n')}\n`);
  process.exit(1);
}
