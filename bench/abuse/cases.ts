import type { AbuseCase } from './case.js';
import { fuzzCase } from './fuzz.js';
import { fuzzPipelineCase } from './fuzz-pipeline.js';
import { slowlorisCase } from './slowloris.js';
import { stormCase } from './storm.js';
import { stuffingCase } from './stuffing.js';

/** Every case of `npm run bench:abuse`, in the order they run when none is named. */
export const ABUSE_CASES: readonly AbuseCase[] = [fuzzCase, fuzzPipelineCase, slowlorisCase, stuffingCase, stormCase];
