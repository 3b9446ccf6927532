/** The op vocabulary of the property tests: the public teaching API's (src/teaching/ops.ts). */
export * from '../../src/teaching/ops.js';
