import { DEFAULT_ADMIN_ENDPOINT, type AdminEndpointConfig } from '../../src/metrics/admin-endpoint-config.js';

/** The admin endpoint of a test broker: loopback on a free port, as many brokers run at once. */
export const TEST_ADMIN_ENDPOINT: AdminEndpointConfig = { ...DEFAULT_ADMIN_ENDPOINT, port: 0 };

/** `parapet start` flags of a test broker process: its admin endpoint on a free port. */
export const TEST_ADMIN_LISTEN = ['--admin-listen', '127.0.0.1:0'] as const;
