import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * How to start a worker thread on the module `name` (e.g. "worker") beside the module at
 * `from` (its `import.meta.url`). From dist/ the worker is plain JS. From the TypeScript
 * sources (tests, tsx) it needs the tsx loader; Node 20 does not apply `--import tsx` from a
 * worker's execArgv before resolving its entry, so a small bootstrap module registers tsx's
 * hooks and then imports the .ts file.
 */
export function workerEntry(from: string, name: string): { url: URL; execArgv: string[] } {
  if (!from.endsWith(".ts")) return { url: new URL(`./${name}.js`, from), execArgv: [] };
  const tsxDir = dirname(createRequire(from).resolve("tsx/package.json"));
  const api = pathToFileURL(join(tsxDir, "dist", "esm", "api", "index.mjs")).href;
  const target = new URL(`./${name}.ts`, from).href;
  const code = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(target)});`;
  return { url: new URL(`data:text/javascript,${encodeURIComponent(code)}`), execArgv: [] };
}
