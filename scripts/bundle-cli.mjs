// Bundles the CLI (dist/src/cli/main.js, already type-checked and compiled by tsc) into
// dist/cli/rxswim.cjs, puts the loader (scripts/cli-loader.mjs) beside it as
// dist/cli/main.js, the `rxswim` bin, and trains V8's code cache for the bundle
// (scripts/train-code-cache.mjs). Why a bundle: Node 20 loads an unbundled ESM graph
// file by file, and rxjs alone resolves to ~400 CommonJS files; an agent spent ~850 ms
// of CPU before it answered. Why CommonJS: vm.Script takes a code cache, Node 20's ES
// module loader does not (see the loader). One file: what a command does not use (the
// inspector, the cluster TUI, the simulator) is in it but never initialised, as esbuild
// wraps each module in a function run at its first import; YAML and pino-pretty are
// required from node_modules only when asked for. The library entry points
// (dist/src/index.js, machines) stay unbundled: applications bundle them their own way.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

// rxjs's export map sends the `node` condition to its CommonJS build, which a bundler
// cannot tree-shake; its ES2015 build is the same code as modules (~340 kB → what we use).
const rxjsEsm = {
  name: 'rxjs-esm',
  setup(b) {
    b.onResolve({ filter: /^rxjs$/ }, () => ({ path: fileURLToPath(new URL('../node_modules/rxjs/dist/esm/index.js', import.meta.url)) }));
  },
};

const root = fileURLToPath(new URL('..', import.meta.url));
// Nothing of an earlier build may outlive it (its bundle, its code cache).
rmSync(`${root}/dist/cli`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['dist/src/cli/main.js'],
  outfile: 'dist/cli/rxswim.cjs',
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  plugins: [rxjsEsm],
  // The sources are ES modules that find their files (package.json, main.js for the demo's
  // agents) from import.meta.url; in the CommonJS bundle that is the bundle's own URL.
  define: { 'import.meta.url': '__rxswimBundleUrl' },
  banner: { js: "const __rxswimBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
});
// The file is written as the function the loader calls (Node's CommonJS wrapper, with
// "use strict" first, as the ES sources are strict): read as one string, which V8 keeps
// as the script's source, with no wrapped copy. Its first line was the entry's shebang,
// so the lines, and the source map, do not move.
const bundleFile = `${root}/dist/cli/rxswim.cjs`;
const code = readFileSync(bundleFile, 'utf8');
const mapAt = code.lastIndexOf('\n//# sourceMappingURL=');
if (!code.startsWith('#!') || mapAt < 0) throw new Error('bundle-cli: the bundle does not start with a shebang or end with its source map URL');
writeFileSync(
  bundleFile,
  `(function (exports, require, module, __filename, __dirname) { "use strict";${code.slice(code.indexOf('\n'), mapAt)}\n})${code.slice(mapAt)}`,
);
copyFileSync(`${root}/scripts/cli-loader.mjs`, `${root}/dist/cli/main.js`);
chmodSync(`${root}/dist/cli/main.js`, 0o755);

if (process.env.RXSWIM_BUILD_CODE_CACHE === '0') {
  console.log('bundle-cli: RXSWIM_BUILD_CODE_CACHE=0, no code cache: agents compile their code as they start');
} else {
  const { trainCodeCache } = await import('./train-code-cache.mjs');
  await trainCodeCache(`${root}/dist/cli`);
}
