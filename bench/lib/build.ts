/**
 * Bundles the server and the client with esbuild into `bench/node_modules/.cache/rxllm-bench/` (ESM,
 * code-split so that a process loads only its own stack). Packages stay external, resolved to absolute
 * paths: the peers (`ai`, `@ai-sdk/openai`, `@langchain/*`, `tinybench`) from `bench/node_modules`,
 * everything else (rxllm's own dependencies, the vendor SDKs, `eventsource-parser` for the floor) from
 * the project's `node_modules`, so the floor, the SDK loops and rxllm use the very same copies.
 */
import { readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';
import { build, type Plugin } from 'esbuild';

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? `${parts[0]}/${parts[1]}` : (parts[0] as string);
}

function splitResolution(root: string, bench: string): Plugin {
  const own = new Set(
    Object.keys(
      (JSON.parse(readFileSync(join(bench, 'package.json'), 'utf8')) as { devDependencies: object })
        .devDependencies,
    ),
  );
  const builtins = new Set(builtinModules);
  return {
    name: 'bench-split-resolution',
    setup(b) {
      b.onResolve({ filter: /^[^./]/ }, async (args) => {
        if (args.pluginData === 'inner') return undefined;
        if (args.path.startsWith('node:') || builtins.has(args.path)) return { external: true };
        const resolveDir = own.has(packageName(args.path)) ? bench : root;
        const resolved = await b.resolve(args.path, { kind: args.kind, resolveDir, pluginData: 'inner' });
        if (resolved.errors.length > 0) return { errors: resolved.errors };
        return { path: resolved.path, external: true };
      });
    },
  };
}

/** Builds `client.mjs` and `server.mjs` (plus shared chunks) into `outdir`. */
export async function bundle(root: string, outdir: string): Promise<void> {
  const bench = join(root, 'bench');
  await build({
    entryPoints: { client: join(bench, 'client.ts'), server: join(bench, 'server.ts') },
    outdir,
    absWorkingDir: root,
    bundle: true,
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    outExtension: { '.js': '.mjs' },
    plugins: [splitResolution(root, bench)],
    logLevel: 'warning',
    legalComments: 'none',
  });
}
