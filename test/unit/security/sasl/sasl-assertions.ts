import assert from 'node:assert/strict';
import { SaslAuthenticationError, type SaslFailureReason, type SaslStep } from '../../../../src/security/types.js';

/** The SaslAuthenticationError a step fails with (fails the test if it succeeds or throws anything else). */
export async function rejection(promise: Promise<SaslStep>): Promise<SaslAuthenticationError> {
  try {
    await promise;
  } catch (error) {
    assert.ok(error instanceof SaslAuthenticationError, `expected a SaslAuthenticationError, got ${String(error)}`);
    return error;
  }
  assert.fail('the step was expected to fail');
}

export async function rejectsWith(promise: Promise<SaslStep>, reason: SaslFailureReason): Promise<SaslAuthenticationError> {
  const error = await rejection(promise);
  assert.equal(error.reason, reason, error.message);
  return error;
}
