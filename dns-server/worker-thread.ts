// The entry point of a --workers thread (workers.ts starts it): the standalone server's run()
// with the process's flags; workerData tells run() it is a worker.
import { workerData } from 'node:worker_threads';
import { run } from './main.js';

run((workerData as { argv: string[] }).argv).then((code) => { process.exitCode = code; }, (err: Error) => { process.stderr.write(`${err.message}\n`); process.exit(1); });
