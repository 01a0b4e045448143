import { ErrorCode } from '../../protocol/error-codes.js';

/** Config resource types (ConfigResource.Type): only topics have configs here; the broker has none yet. */
export const ConfigResourceType = { TOPIC: 2, BROKER: 4 } as const;

/** The answer of the config APIs to a resource type they do not serve. */
export const unsupportedResource = (resourceType: number, resourceName: string) => ({
  errorCode: ErrorCode.INVALID_REQUEST,
  errorMessage: `config resource type ${resourceType} is not supported`,
  resourceType,
  resourceName,
});
