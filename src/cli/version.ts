/** `layersim --version`: package.json's version, kept here so the bundled CLI needs no file beside it (a test keeps the two equal). */
export const VERSION = '0.1.0';
