#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so a fresh clone needs no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
// Every command closes what it opened; exiting here also ends any stray handle a library left behind.
process.exit(process.exitCode ?? 0);
