/** Explain mode: per-line, per-driver narratives of what each storage mechanism did, and pictures of the layers. */
export { explainTrace, formatExplain, labelOf, type ExplainCell, type ExplainDriver, type ExplainLine, type ExplainReport, type ExplainRequest } from './explain.js';
export type { ExtentRef, Fact } from './facts.js';
export { pictureOf, pictureText, type ContainerPicture, type LayerPicture, type MappingRun, type UpperNode } from './pictures.js';
export { probeFor, type Mechanism, type Probe } from './probes.js';
export { registerExplain, pickDrivers } from './cli.js';
