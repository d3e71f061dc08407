#!/usr/bin/env node
// rxswim's command line (copied to dist/cli/main.js by scripts/bundle-cli.mjs). It runs
// the CLI bundle, dist/cli/rxswim.cjs, through V8's code cache, rxswim.cjs.v8cache,
// which the build made by running an agent (scripts/train-code-cache.mjs).
//
// Why: a fresh agent spent about a third of its start-up CPU, and half of its first
// join, parsing and compiling JavaScript for the first time; a member that restarts or
// scales out joins a cluster exactly once, cold. Node 20 has no compile cache for ES
// modules (module.enableCompileCache came in Node 22), but vm.Script takes V8's cached
// data for a CommonJS script, hence a CommonJS bundle. The cache is V8's own format:
// V8 checks it against its version, its flags and the source and rejects a mismatch
// (another Node, V8 flags such as --stack-size, an edited bundle; Node options such as
// --cpu-prof keep it), and the bundle is then compiled as usual.
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import vm from 'node:vm';

const bundle = fileURLToPath(new URL('./rxswim.cjs', import.meta.url));

/** compiles the bundle; nothing here outlives it but the script (the cache buffer is 1 MB) */
function compile() {
  let cachedData;
  try {
    cachedData = readFileSync(`${bundle}.v8cache`);
  } catch {
    // no cache (RXSWIM_BUILD_CODE_CACHE=0, or a copy without it): compile as usual
  }
  // The file is already the wrapper function (scripts/bundle-cli.mjs): one 1.5 MB string,
  // which V8 keeps as the source. A wrapped copy made here stayed in the large-object
  // space as garbage until a major GC, which an idle agent may not run for hours.
  const script = new vm.Script(readFileSync(bundle, 'utf8'), { filename: bundle, cachedData });
  // Read by the agent's start-up log line (`codeCache`), so that a rejected cache is visible.
  globalThis[Symbol.for('rxswim.codeCache')] = cachedData === undefined ? 'absent' : script.cachedDataRejected ? 'rejected' : 'accepted';
  return script;
}

const script = compile();
const out = process.env.RXSWIM_CODE_CACHE_OUT;
if (out) {
  // Taken at exit, so that it holds every function the run compiled, not only the top level.
  process.once('exit', () => writeFileSync(out, script.createCachedData()));
}
const module = { exports: {}, filename: bundle, id: bundle, loaded: false };
script.runInThisContext()(module.exports, createRequire(bundle), module, bundle, dirname(bundle));
