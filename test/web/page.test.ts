/**
 * End to end: the example page (examples/web) in headless Chromium, against its Node server and the
 * wire-level simulator. Needs Debian's chromium at /usr/bin/chromium (CI installs it with apt); without it
 * the test fails, it does not skip.
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SimRequest } from '../../src/testing/simulator/server.js';
import { launchChromium } from '../support/chromium.js';
import { DEMO_ANSWERS, startWebDemo, type WebDemo } from '../../examples/web/server.js';
import type { DemoScenario } from '../../examples/web/scenarios.js';

const SCREENSHOT = resolve('test-output/web.png');

interface Sample {
  readonly text: string;
  readonly status: string;
  readonly provider: string;
  readonly cost: string;
}

declare global {
  interface Window {
    __samples?: Sample[];
  }
}

let demo: WebDemo | undefined;
let browser: Browser | undefined;
let context: BrowserContext | undefined;
let page: Page;

beforeAll(async () => {
  // React's development build: StrictMode mounts, unmounts and remounts, which must not double the call.
  demo = await startWebDemo({ tokenDelayMs: 30, reactDev: true });
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 900, height: 640 } });
  page = await context.newPage();
  page.on('pageerror', (error) => console.error('page error:', error));
  await page.goto(demo.url);
  await page.waitForSelector('[data-testid=status][data-status=idle]');
});

afterAll(async () => {
  await context?.close();
  await browser?.close();
  await demo?.close();
});

/** Starts a scenario from the page, recording every DOM change of the answer while it runs. Resolves to
 * the number of simulator requests before it, so a test can pick out this run's requests. */
async function generate(scenario: DemoScenario): Promise<number> {
  const before = (demo as WebDemo).simulator.requests.length;
  await page.selectOption('[data-testid=scenario]', scenario);
  await page.evaluate(() => {
    const q = (id: string) => document.querySelector(`[data-testid=${id}]`)?.textContent ?? '';
    const samples: Sample[] = [];
    window.__samples = samples;
    const record = () =>
      samples.push({ text: q('output'), status: q('status'), provider: q('provider'), cost: q('cost') });
    new MutationObserver(record).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  });
  await page.click('[data-testid=generate]');
  return before;
}

async function waitForStatus(status: string): Promise<void> {
  await page.waitForSelector(`[data-testid=status][data-status=${status}]`, { timeout: 10_000 });
}

async function samples(): Promise<Sample[]> {
  return page.evaluate(() => window.__samples ?? []);
}

const text = (id: string) => page.textContent(`[data-testid=${id}]`);

describe('the example page in Chromium', () => {
  it('renders tokens progressively, then the provider and the exact cost', async () => {
    const before = await generate('normal');
    await waitForStatus('done');
    expect(await text('output')).toBe(DEMO_ANSWERS.claude);
    expect(await text('provider')).toContain('anthropic');
    expect(await text('cost')).toMatch(/^cost \$0\.\d{6}$/); // exact: no "(est.)" once finished

    // Sampled on every DOM change: the answer grew through many lengths while streaming, not at once.
    const streaming = (await samples()).filter((s) => s.status === 'streaming' && s.text.length > 0);
    const lengths = [...new Set(streaming.map((s) => s.text.length))];
    expect(lengths.length).toBeGreaterThanOrEqual(5);
    expect(lengths).toEqual([...lengths].sort((a, b) => a - b));
    expect(Math.min(...lengths)).toBeLessThan(DEMO_ANSWERS.claude.length / 2);
    for (const s of streaming) expect(DEMO_ANSWERS.claude.startsWith(s.text)).toBe(true);
    // The provider and a growing running estimate of the cost were on screen while streaming.
    expect(streaming.every((s) => s.provider.includes('anthropic'))).toBe(true);
    const estimates = streaming
      .filter((s) => s.cost.endsWith('(est.)'))
      .map((s) => Number(/\$([\d.]+)/.exec(s.cost)?.[1]));
    expect(estimates.length).toBeGreaterThan(0);
    expect(new Set(estimates).size).toBeGreaterThan(1);
    expect(estimates).toEqual([...estimates].sort((a, b) => a - b));

    // StrictMode's unmount/remount did not send the call twice.
    expect((demo as WebDemo).simulator.requests.length - before).toBe(1);
  });

  it('shows the provider switch when the first provider fails before its first token', async () => {
    const before = await generate('fallback');
    await waitForStatus('done');
    expect(await text('output')).toBe(DEMO_ANSWERS.gpt);
    const provider = await text('provider');
    expect(provider).toMatch(/anthropic\s*→\s*openai · gpt-4o-mini/);
    const switches = await text('switches');
    expect(switches).toContain(
      'anthropic/claude-haiku-4-5 failed (overloaded, HTTP 529) before its first token',
    );
    const calls = (demo as WebDemo).simulator.requests.slice(before);
    expect(calls.map((r) => r.protocol)).toEqual(['anthropic', 'openai']);
    // Nothing of the failed provider ever reached the screen.
    for (const s of await samples()) expect(DEMO_ANSWERS.gpt.startsWith(s.text)).toBe(true);
  });

  it('shows the reset when the fallback policy restarts after content, then the new answer', async () => {
    await generate('restart');
    await waitForStatus('done');
    expect(await text('output')).toBe(DEMO_ANSWERS.gpt);
    expect(await text('switches')).toContain('anthropic/claude-haiku-4-5 failed mid-answer (overloaded)');
    expect(await text('provider')).toMatch(/anthropic\s*→\s*openai/);

    const seen = await samples();
    const firstGpt = seen.findIndex((s) => s.text.length > 0 && DEMO_ANSWERS.gpt.startsWith(s.text));
    const partial = seen.slice(0, firstGpt).filter((s) => s.text.length > 0);
    // Claude's partial answer was on screen, then cleared: GPT's answer starts afresh.
    expect(partial.length).toBeGreaterThan(0);
    for (const s of partial) expect(DEMO_ANSWERS.claude.startsWith(s.text)).toBe(true);
    expect(seen.slice(firstGpt).every((s) => !s.text.startsWith('Backpressure'))).toBe(true);

    await mkdir('test-output', { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    console.log(`web example screenshot: ${SCREENSHOT}`);
  });

  it('Stop unsubscribes in the browser and the simulator sees its socket closed', async () => {
    const server = demo as WebDemo;
    const before = await generate('slow');
    await page.waitForFunction(
      () => (document.querySelector('[data-testid=output]')?.textContent ?? '').length > 30,
    );
    const request = server.simulator.requests[before] as SimRequest;
    expect(request.protocol).toBe('anthropic');
    // Read when the socket closes: the simulator counts the response finished once it notices the close.
    const abortedAtClose = request.closed.then(() => request.abortedByClient());
    await page.click('[data-testid=stop]');
    await waitForStatus('stopped');

    let timer: NodeJS.Timeout | undefined;
    const aborted = await Promise.race([
      abortedAtClose,
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error('the simulator socket stayed open after Stop')), 5_000);
      }),
    ]).finally(() => clearTimeout(timer));
    expect(aborted).toBe(true);

    const shown = await text('output');
    expect(shown?.length).toBeLessThan(DEMO_ANSWERS.claude.length * 8);
    await page.waitForTimeout(300);
    expect(await text('output')).toBe(shown);
    expect(server.simulator.requests.length).toBe(before + 1);
  });
});
