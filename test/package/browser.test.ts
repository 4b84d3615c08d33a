/**
 * The package in a browser: examples/browser (an app that imports `openai`, `collect`, `fromSSE` and
 * `textDeltas` from 'rxllm') bundled from the installed tarball by esbuild (`--platform=browser`) and by
 * Vite with no configuration and no externals, then run in headless Chromium: it calls the simulator
 * directly (another origin, so CORS) and reads a pipeline over SSE from the page's server. Needs Debian's
 * chromium at /usr/bin/chromium (the test command installs it when missing).
 */
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser } from 'playwright-core';
import { openai, pipeSSE } from 'rxllm';
import { createSimulator, openaiProtocol, type Simulator } from 'rxllm/testing';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { launchChromium } from '../support/chromium.js';
import { bin, type Consumer, createConsumer, mustExec, REPO } from './consumer.js';

const ANSWER = 'Sunlight scatters off air molecules, blue light the most.';

let consumer: Consumer;
let sim: Simulator;
let server: Server;
let origin: string;
let browser: Browser;

const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.css': 'text/css' };

beforeAll(async () => {
  consumer = await createConsumer();
  const app = join(consumer.dir, 'app');
  await mkdir(app);
  for (const file of ['app.ts', 'index.html'])
    await copyFile(join(REPO, 'examples/browser', file), join(app, file));

  // esbuild: the bundler's defaults for a browser, minified; the page loads the bundle.
  await mustExec(
    bin('esbuild'),
    [
      'app/app.ts',
      '--bundle',
      '--platform=browser',
      '--format=esm',
      '--minify',
      '--outfile=app/esbuild/app.js',
    ],
    consumer.dir,
  );
  const html = await readFile(join(app, 'index.html'), 'utf8');
  await writeFile(join(app, 'esbuild/index.html'), html.replace('./app.ts', './app.js'));
  // Vite: no config file, relative asset paths so the build can be served under /vite/.
  await mustExec(
    bin('vite'),
    ['build', 'app', '--outDir', 'vite', '--base', './', '--logLevel', 'warn'],
    consumer.dir,
  );

  sim = await createSimulator({ protocols: [openaiProtocol], cors: true, defaultScenario: { text: ANSWER } });
  const model = openai({ apiKey: 'sk-server-side', baseURL: `${sim.url}/v1`, model: 'gpt-4o-mini' });
  server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (req.method === 'POST' && url.pathname === '/api/generate') {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', () => void pipeSSE(model.stream(JSON.parse(Buffer.concat(chunks).toString())), res));
      return;
    }
    const file = normalize(join(app, url.pathname));
    if (!file.startsWith(app)) return void res.writeHead(403).end();
    readFile(file).then(
      (body) =>
        res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  browser = await launchChromium();
}, 300_000);

afterAll(async () => {
  await browser?.close();
  server?.closeAllConnections();
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await sim?.close();
  await consumer?.dispose();
});

it.each(['esbuild', 'vite'])(
  'the %s bundle runs in Chromium: a direct call and an SSE stream',
  async (bundler) => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (error) => errors.push(error.message));
    const query = new URLSearchParams({ model: `${sim.url}/v1`, sse: '/api/generate' });
    await page.goto(`${origin}/${bundler}/index.html?${query}`);
    await page.waitForSelector('body:not([data-status="running"])', { timeout: 20_000 });
    const read = (selector: string): Promise<string> => page.locator(selector).innerText();
    expect({
      status: await page.getAttribute('body', 'data-status'),
      error: await read('#error'),
      errors,
    }).toEqual({
      status: 'done',
      error: '',
      errors: [],
    });
    expect(await read('#direct')).toBe(ANSWER);
    expect(await read('#streamed')).toBe(ANSWER);
    await page.close();
  },
);

it('reports the size of the esbuild bundle', async () => {
  const bundle = await readFile(join(consumer.dir, 'app/esbuild/app.js'));
  const gzip = gzipSync(bundle, { level: 9 }).length;
  console.log(
    `examples/browser bundle: ${(bundle.length / 1024).toFixed(1)} KiB min, ${(gzip / 1024).toFixed(1)} KiB gzip`,
  );
  // No Node built-in reached the bundle (esbuild would also have refused to resolve one for the browser).
  expect(bundle.toString('utf8')).not.toMatch(/from\s*"node:|require\("node:|from\s*"(crypto|http|fs|zlib)"/);
  // The app holds the direct OpenAI provider, collect and the SSE client, with RxJS: far below the
  // whole library. A bound, not a measurement: `npm run size` gives the figure the README states.
  expect(gzip).toBeLessThan(64 * 1024);
});
