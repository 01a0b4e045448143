import type { NameLimits } from '../../protocol/names.js';
import { checkRequestNames } from '../name-validation/index.js';
import type { Stage, StageFactory, StageStep } from './stage.js';

/**
 * The name rules (../name-validation): after the authentication gate and before authorization, the
 * items whose names break a rule of src/protocol/names.ts are answered here with their error codes,
 * so that neither the authorizer nor a handler ever keys anything on them. The client id is cut to its
 * bound when the request is decoded (`boundHeader`), since the header reaches every stage.
 */
export function nameRules(limits: NameLimits): StageFactory {
  const stage: Stage = {
    name: 'names',
    // A name check's outcome is a stage step of its API's types.
    before: ({ api, header, body }) => checkRequestNames(api.apiKey, body, header.apiVersion, limits) as StageStep,
  };
  return () => stage;
}
