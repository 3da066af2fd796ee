#!/usr/bin/env node
// Runs the TypeScript CLI directly (tsx is a runtime dependency), so no build step is needed.
require('tsx/cjs');
require('../src/cli.ts').main();
