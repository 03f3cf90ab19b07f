import { defineConfig } from "vitest/config";

// Tauri loads the dev server from http://localhost:1420 (see src-tauri/tauri.conf.json)
// and the built files from ui/dist.
const host = process.env.TAURI_DEV_HOST;

export default defineConfig({
  clearScreen: false,
  envPrefix: ["VITE_", "TAURI_ENV_"],
  server: {
    port: 1420,
    strictPort: true,
    host: host || false,
    watch: { ignored: ["**/src-tauri/**"] },
  },
  build: {
    outDir: "dist",
    emptyOutDir: true,
    target: ["es2021", "chrome105", "safari15"],
  },
  test: {
    include: ["src/**/*.test.ts"],
    environment: "node",
  },
});
