import { parentPort, workerData } from 'node:worker_threads';
import { guessPasswords, type GuessOptions } from './login-attack.js';

// The worker of guessPasswordsInWorker: one attack, its result posted back.
const result = await guessPasswords(workerData as GuessOptions);
parentPort?.postMessage(result);
