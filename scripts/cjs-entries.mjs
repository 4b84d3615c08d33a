// Writes dist/<entry>.cjs for every ESM entry: `require('rxllm')` loads the same ES module that
// `import 'rxllm'` does (Node 20.19+ requires ES modules without a flag), so a process that mixes both
// formats still has one copy of the library. Run after tsup (`npm run build`).
import { readFile, writeFile } from 'node:fs/promises';

const pkg = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8'));
for (const [subpath, conditions] of Object.entries(pkg.exports)) {
  const target = conditions?.require?.default;
  if (typeof target !== 'string') continue;
  const esm = conditions.import.default.replace('./dist/', './');
  const body = `'use strict';\n// ${pkg.name}${subpath.slice(1)}: the ES module, required (Node 20.19+).\nmodule.exports = require('${esm}');\n`;
  await writeFile(new URL(`../${target}`, import.meta.url), body);
}
