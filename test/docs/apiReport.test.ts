/**
 * The checked-in API report (api/*.api.md) matches the sources: a change of the public surface must show
 * in the same commit as a diff of the report.
 */
import { existsSync, readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renderApiReports, reportFile } from './apiReport.js';
import { ENTRIES, ROOT } from './extract.js';

describe('API report', () => {
  it('lists every export of every entry point, as checked in (update with `npm run api`)', async () => {
    const reports = await renderApiReports();
    expect([...reports.keys()]).toEqual(Object.keys(ENTRIES));
    for (const [entry, text] of reports) {
      const file = reportFile(entry);
      const stale = `${relative(ROOT, file)} is out of date: run \`npm run api\` and commit the diff`;
      expect(existsSync(file), stale).toBe(true);
      expect(readFileSync(file, 'utf8'), stale).toBe(text);
    }
    // Each export is one section; the main entry's core names are there.
    const main = reports.get('rxllm') ?? '';
    for (const name of [
      'LLMError: class',
      'openai: function',
      'TokenEvent: type',
      'LanguageModel: interface',
    ]) {
      expect(main).toContain(`// ${name}`);
    }
  }, 180_000);
});
