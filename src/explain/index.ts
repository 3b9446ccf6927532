/** Explain mode: per-line, per-driver narratives of what each storage mechanism did, and pictures of the layers. */
export { explainTrace, formatExplain, labelOf, type ExplainCell, type ExplainDriver, type ExplainLine, type ExplainReport, type ExplainRequest } from './explain.js';
export type { ExtentRef, Fact } from './facts.js';
export type { LineContext, Mechanism, ModelExplain, ModelPicture, Probe, Snapshot } from './contract.js';
export { pictureOf, pictureText, type ContainerPicture, type LayerPicture, type UpperNode } from './pictures.js';
export { probeFor } from './probes.js';
export { registerExplain, pickDrivers } from './cli.js';
