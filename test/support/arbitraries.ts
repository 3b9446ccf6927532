/** The arbitraries and model-based commands of the property tests: the public teaching API's (src/teaching). */
export * from '../../src/teaching/arbitraries.js';
export * from '../../src/teaching/commands.js';
