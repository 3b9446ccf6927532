/** The memfs reference filesystem of the property tests: the public teaching API's (src/teaching/reference.ts). */
export * from '../../src/teaching/reference.js';
