import type { AuthorizationRequest, Authorizer } from '../types.js';
import type { AccessRecorder } from './observed-access.js';

/**
 * The authorizer, with each decision recorded in the access log: for callers outside the request
 * pipeline (the admin endpoint's routes), whose checks name the resource they need.
 */
export function recordingAuthorizer(authorizer: Authorizer, recorder: AccessRecorder): Authorizer {
  return {
    authorize(request: AuthorizationRequest): boolean {
      const allowed = authorizer.authorize(request);
      recorder.record(request.principal, request.operation, request.resourceType, request.resourceName, allowed, 'named');
      return allowed;
    },
    authorizeAny(request: Omit<AuthorizationRequest, 'resourceName'>): boolean {
      const allowed = authorizer.authorizeAny(request);
      recorder.record(request.principal, request.operation, request.resourceType, '', allowed, 'any');
      return allowed;
    },
  };
}
