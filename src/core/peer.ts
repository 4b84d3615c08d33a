/**
 * Loads an optional peer package (a vendor SDK, `ioredis`, `gpt-tokenizer`) when a feature first needs
 * it. The specifier is a variable, and the comments tell Vite and webpack to leave it alone, so bundlers
 * do not try to bundle a package the app may not have installed: an app that never uses the feature
 * bundles without it and without any configuration. In Node it resolves like any import.
 *
 * ## Example
 * ```ts
 * const { Ollama } = await importPeer<typeof import('ollama')>('ollama');
 * ```
 *
 * @param specifier - the package (or package subpath) to import
 * @returns the module namespace
 */
export function importPeer<Module>(specifier: string): Promise<Module> {
  return import(/* @vite-ignore */ /* webpackIgnore: true */ specifier) as Promise<Module>;
}
