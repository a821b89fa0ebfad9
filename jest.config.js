const base = {
  testEnvironment: 'node',
  // Not the temp folder (jest's default), which the tests leave as they found it.
  cacheDirectory: '<rootDir>/node_modules/.cache/jest',
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' } }] },
  moduleFileExtensions: ['ts', 'js', 'json'],
};

/** @type {import('jest').Config} */
module.exports = {
  // Most suites wait (on restic, child processes, the control plane) rather than compute: the unit suites alone use
  // 144 CPU-s over 790 s of summed suite time, so with 2 workers a run is bound by waiting (412 s wall, the cores
  // 35% busy). Four workers overlap the waits on 2 cores; jest starts the suites that took longest last run first.
  maxWorkers: 4,
  // One temporary folder per run, removed at the end (see testing/temp-folder.js).
  globalSetup: '<rootDir>/testing/global-setup.js',
  globalTeardown: '<rootDir>/testing/global-teardown.js',
  projects: [
    {
      ...base,
      displayName: 'unit',
      roots: ['<rootDir>/__tests__'],
      testMatch: ['**/*.test.ts'],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/__tests__/cluster/'],
    },
    {
      ...base,
      displayName: 'cluster',
      roots: ['<rootDir>/__tests__/cluster'],
      testMatch: ['**/*.test.ts'],
      // One real control plane per run, started only when a cluster suite is selected (a project's global
      // setup runs only then); every suite works in namespaces of its own.
      globalSetup: '<rootDir>/testing/cluster/global-setup.ts',
      globalTeardown: '<rootDir>/testing/cluster/global-teardown.ts',
    },
  ],
};
