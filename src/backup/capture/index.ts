// The capture of a data directory for a backup (docs/operations/backup-and-recovery.md).
export { CaptureError, CaptureErrorCodes, isCaptureError, type CaptureErrorCode } from './capture-error.js';
export { isCaptureId, newCaptureId } from './capture-id.js';
export type { CaptureSources } from './capture-sources.js';
export { CaptureRegistry, DEFAULT_CAPTURE_LEASE_MS, MAX_HELD_CAPTURES, type CaptureReleaseReason, type HeldCapture } from './capture-registry.js';
export { captureOffline, type OfflineCapture, type OfflineCaptureOptions } from './capture-offline.js';
export { parseHeldCapture } from './capture-json.js';
export { STAGING_DIR, stagingDirOf, takeCapture } from './take-capture.js';
