#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx is a runtime dependency), so no build step is needed.
require('tsx/cjs');
const { runCli } = require('../src/cli.ts');

runCli(process.argv.slice(2), {
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
}).then(
  (code) => {
    process.exitCode = code;
  },
  (err) => {
    process.stderr.write(`opsctl: ${(err && err.stack) || err}\n`);
    process.exitCode = 1;
  },
);
