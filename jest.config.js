/** Jest runs the tests of the pure modules (extension/src/logic) with ts-jest, in Node. */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/extension/test'],
  testMatch: ['**/*.spec.ts'],
  transform: {
    '^.+\\.tsx?$': ['ts-jest', { tsconfig: 'tsconfig.test.json' }]
  }
};
