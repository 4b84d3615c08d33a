/**
 * The README names only what the package has: every `name()` it shows is exported by an entry point, and
 * the routing strategies it lists are the ones `route()` knows. (Its code blocks are compiled against the
 * built package by the documentation tests.)
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as config from 'rxllm/config';
import * as main from 'rxllm';
import * as otel from 'rxllm/otel';
import * as react from 'rxllm/react';
import * as server from 'rxllm/server';
import * as testing from 'rxllm/testing';
import { expect, it } from 'vitest';
import { REPO } from './consumer.js';

const readme = await readFile(join(REPO, 'README.md'), 'utf8');
const exported = new Set([main, testing, react, config, otel, server].flatMap((entry) => Object.keys(entry)));

it('shows only functions the package exports', () => {
  const called = new Set([...readme.matchAll(/`([A-Za-z][\w.]*)\(/g)].map((m) => m[1]!));
  // Methods of returned objects (`spend.policy()`, `store.events$`) are not entry-point names.
  const missing = [...called].filter((name) => !name.includes('.') && !exported.has(name));
  expect(missing).toEqual([]);
  expect(called.size).toBeGreaterThan(20);
});

it('lists exactly the routing strategies route() knows', () => {
  const row = readme.split('\n').find((line) => line.startsWith('| `route()`'));
  const listed = [...(row ?? '').matchAll(/`([a-z-]+)`/g)].map((m) => m[1]!);
  expect(listed.sort()).toEqual([...config.STRATEGIES].sort());
});
