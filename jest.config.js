export default {
  testEnvironment: 'node',
  setupFiles: ['<rootDir>/test/setup-console.cjs'],
  // Rebuilds dist/ when src/ changed: the CLI tests run the built CLI.
  globalSetup: '<rootDir>/test/global-setup.js',
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {'^(\\.{1,2}/.*)\\.js$': '$1'},
  transform: {'^.+\\.ts$': ['ts-jest', {useESM: true, tsconfig: '<rootDir>/tsconfig.test.json'}]},
  testTimeout: 60000,
}
