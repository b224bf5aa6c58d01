import { resolve } from 'node:path';
import { defineConfig } from 'vite';

/**
 * The dashboard's build (docs/dashboard.md): Preact with esbuild's own JSX, everything bundled into dist/dashboard
 * (nothing is fetched at run time). `npm run build:dashboard` runs it; the API serves the output at `/`.
 */
export default defineConfig({
  root: __dirname,
  base: '/',
  publicDir: false,
  esbuild: { jsx: 'automatic', jsxImportSource: 'preact' },
  build: {
    outDir: resolve(__dirname, '../dist/dashboard'),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // Cytoscape and ELK are big by nature (ELK's worker is ~1.5 MB); they are served once and cached.
    chunkSizeWarningLimit: 2_000,
  },
  worker: { format: 'es' },
  server: { proxy: { '/v1': 'http://127.0.0.1:8003' } },
});
