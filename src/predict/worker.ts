/** A predict worker thread (started by predictParallel from the compiled dist): sweeps the drivers it is handed. */
import { parentPort, workerData } from 'node:worker_threads';
import { serveDriverWorker, type WorkerData } from './parallel.js';

if (parentPort === null) throw new Error('predict worker: run me as a worker thread (predictParallel starts it)');
const { spec, port } = workerData as WorkerData;
serveDriverWorker(spec, port);
