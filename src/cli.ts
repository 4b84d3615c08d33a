#!/usr/bin/env node
/**
 * The `rxllm` command: `rxllm serve`, `rxllm mcp`, `rxllm keys`. Exit codes: 0 ok, 1 runtime failure,
 * 2 usage error, 78 configuration error (EX_CONFIG of sysexits.h). `rxllm --help` says the rest.
 */
import { readFileSync } from 'node:fs';
import { main } from './cli/main.js';

// package.json is one folder up from both src/cli.ts and the built dist/cli.js.
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  version: string;
};
// Exit explicitly: a stopped server may leave timers of shared state (limiters, probes) that would hold
// the process open.
void main(process.argv.slice(2), pkg.version).then((code) => process.exit(code));
