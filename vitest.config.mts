import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['test/unit/**/*.test.ts'],
          testTimeout: 30_000,
          // CLI tests run main() from the source in-process; the few that spawn lib/cli/main.js (signals, closed
          // pipes, memory bounds, servers) get a build of the current source first: this step cannot be skipped.
          globalSetup: ['test/support/build.ts'],
        },
      },
      {
        test: {
          // The packed tarball as a user gets it: npm pack, init, npm install, synth, check (no cluster, no Docker).
          name: 'package',
          include: ['test/package/**/*.test.ts'],
          exclude: ['test/package/**/*.docker.test.ts'],
          fileParallelism: false,
          testTimeout: 600_000,
          hookTimeout: 600_000,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          // Each file starts real etcd + kube-apiserver processes; two cores cannot run many at once.
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
        },
      },
      {
        test: {
          name: 'kind',
          // Docker is there once scripts/kind-prepare.sh ran: the sink image from the packed package is built here too.
          include: ['test/kind/**/*.test.ts', 'test/package/**/*.docker.test.ts'],
          fileParallelism: false,
          testTimeout: 1_800_000,
          hookTimeout: 1_800_000,
        },
      },
    ],
  },
});
