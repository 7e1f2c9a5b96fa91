// Builds web/dist from web/src: each folder of src/ with an index.html (pages → served at /, app → served at /app/)
// becomes the same folder of dist/. In each, main.js and sw.js (when present) are bundled with
// their npm imports, style.css is bundled with the CSS it imports, and every other file (HTML,
// manifest, icons) is copied as it is. The output is deterministic (no hashes, no timestamps):
// CI rebuilds it and fails when the committed dist/ differs.
//
// `node build.mjs` prints each part's JS + CSS size, raw and gzipped (the budgets in the issues
// are gzipped sizes).
import * as esbuild from 'esbuild';
import { cpSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';

const src = new URL('./src/', import.meta.url).pathname;
const dist = new URL('./dist/', import.meta.url).pathname;
const bundled = new Set(['main.js', 'sw.js', 'style.css']);

rmSync(dist, { recursive: true, force: true });
for (const part of readdirSync(src)) {
  const from = join(src, part);
  if (!statSync(from).isDirectory() || !existsSync(join(from, "index.html"))) continue; // shared/ holds modules the parts import
  const to = join(dist, part);
  const entryPoints = [...bundled].map((f) => join(from, f)).filter((f) => existsSync(f));
  await esbuild.build({
    entryPoints,
    outdir: to,
    bundle: true,
    minify: true,
    format: 'esm',
    target: ['chrome100', 'safari15', 'firefox100'],
    legalComments: 'none',
    logLevel: 'warning',
  });
  for (const f of readdirSync(from)) {
    if (bundled.has(f) || f.endsWith('.js') || f.endsWith('.css') || f.endsWith('.md')) continue; // modules are bundled
    cpSync(join(from, f), join(to, f), { recursive: true });
  }
  let raw = 0, gz = 0;
  for (const f of readdirSync(to)) {
    if (!f.endsWith('.js') && !f.endsWith('.css')) continue;
    const b = readFileSync(join(to, f));
    raw += b.length;
    gz += gzipSync(b, { level: 9 }).length;
  }
  console.log(`web/dist/${part}: JS + CSS ${(raw / 1024).toFixed(1)} KiB, ${(gz / 1024).toFixed(1)} KiB gzipped`);
}
