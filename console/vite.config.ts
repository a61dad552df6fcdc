import react from '@vitejs/plugin-react';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * One Vite app with two entry points: the operator console (console.html → /console) and the
 * member portal (portal.html → /portal). The server serves both from dist/console
 * (src/http/static.ts); assets live under /console/assets for both.
 */
export default defineConfig({
  root: here,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: fileURLToPath(new URL('../dist/console', import.meta.url)),
    emptyOutDir: true,
    chunkSizeWarningLimit: 4000,
    rollupOptions: {
      input: { console: fileURLToPath(new URL('console.html', import.meta.url)), portal: fileURLToPath(new URL('portal.html', import.meta.url)) },
      // Shared libraries in their own chunks, so a change to a screen does not re-download them.
      output: { manualChunks: { vendor: ['react', 'react-dom', 'antd', '@tanstack/react-query'], echarts: ['echarts'] } },
    },
  },
  server: { proxy: { '/v1': 'http://127.0.0.1:3000' } },
});
