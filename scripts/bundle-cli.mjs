// Bundles the CLI (dist/src/cli/main.js, already type-checked and compiled by tsc) into
// dist/cli/. Why: Node 20 loads an unbundled ESM graph file by file, and rxjs alone
// resolves to ~400 CommonJS files; an agent spent ~850 ms of CPU before it answered.
// Bundled and tree-shaken it starts in about a third of that. Code splitting keeps the
// lazy imports lazy: the inspector, the cluster TUI and the simulator are separate chunks
// loaded only when asked for. The library entry points (dist/src/index.js, machines)
// stay unbundled: applications bundle them their own way.
import { build } from 'esbuild';
import { chmodSync, rmSync } from 'node:fs';
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
// Chunk names carry content hashes: a stale chunk must not outlive the build that made it.
rmSync(`${root}/dist/cli`, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: ['dist/src/cli/main.js'],
  outdir: 'dist/cli',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: true,
  logLevel: 'warning',
  // CommonJS dependencies (prom-client, pino, commander) call require(); in an ESM
  // bundle it has to be made from the chunk's own URL.
  plugins: [rxjsEsm],
  banner: { js: "import { createRequire as __rxswimRequire } from 'node:module'; const require = __rxswimRequire(import.meta.url);" },
});
chmodSync(`${root}/dist/cli/main.js`, 0o755);
