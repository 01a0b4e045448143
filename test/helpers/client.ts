import { AdminClient } from '../../src/client/admin.js';
import { readClientConfig, type ClientConfig } from '../../src/client/client-config.js';
import { connectToCluster, type ConnectionOptions, type KafkaConnection } from '../../src/client/kafka-connection.js';

/**
 * The project's client as tests reach their broker with it: well-behaved traffic goes through it (a
 * test that must misbehave uses raw-client.ts, built on the same framing).
 */

/**
 * Where the broker is: the port of a plaintext broker on this machine, or the client properties file
 * of a user (a secure broker's `adminProperties`, or one the test wrote).
 */
export type BrokerAccess = number | string;

export function clientConfigFor(access: BrokerAccess): ClientConfig {
  if (typeof access === 'string') return readClientConfig(access);
  return { bootstrapServers: [{ host: '127.0.0.1', port: access }], securityProtocol: 'PLAINTEXT', tls: {} };
}

/** A connection (versions negotiated, authenticated when the settings say so); the caller closes it. */
export function connect(access: BrokerAccess, options: ConnectionOptions = {}): Promise<KafkaConnection> {
  return connectToCluster(clientConfigFor(access), { clientId: 'test', ...options });
}

/** Runs `use` on a connection of its own, closed afterwards whatever happens. */
export async function withConnection<T>(access: BrokerAccess, use: (connection: KafkaConnection) => Promise<T>): Promise<T> {
  const connection = await connect(access);
  try {
    return await use(connection);
  } finally {
    connection.close();
  }
}

/**
 * The tests' one way to create topics: single-replica, through the admin client, over one
 * connection. Throws the client's error (a KafkaError with the broker's code) unless each is created.
 */
export async function createTopic(access: BrokerAccess, names: string | readonly string[], partitions = 1, configs: Readonly<Record<string, string>> = {}): Promise<void> {
  const admin = await AdminClient.connect(clientConfigFor(access), { clientId: 'test-setup' });
  try {
    for (const name of typeof names === 'string' ? [names] : names) await admin.createTopic(name, partitions, configs, 1);
  } finally {
    admin.close();
  }
}
