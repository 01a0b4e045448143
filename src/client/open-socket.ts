import { readFileSync } from 'node:fs';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectOptions } from 'node:tls';
import { formatBrokerAddress, usesTls, type BrokerAddress, type ClientConfig } from './client-config.js';
import { ClientError, ConnectionError, describeError } from './errors.js';

function readPem(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw new ClientError(`cannot read ${key} ${path}: ${describeError(err)}`);
  }
}

/**
 * A TCP connection to a broker, or a TLS one verified against the configured CA (the system's when
 * none is set) when the protocol is SSL or SASL_SSL; resolves once it can carry requests.
 */
export async function openSocket(address: BrokerAddress, config: Pick<ClientConfig, 'securityProtocol' | 'tls'>, timeoutMs: number): Promise<Socket> {
  const where = formatBrokerAddress(address);
  let socket: Socket;
  let ready: string;
  if (usesTls(config.securityProtocol)) {
    const options: TlsConnectOptions = { host: address.host, port: address.port, minVersion: 'TLSv1.2', rejectUnauthorized: true };
    // SNI must not carry an IP address (RFC 6066 §3); Node then checks the IP against the certificate's IP SANs.
    if (isIP(address.host) === 0) options.servername = address.host;
    if (config.tls.caLocation !== undefined) options.ca = readPem('ssl.ca.location', config.tls.caLocation);
    if (config.tls.certificateLocation !== undefined) options.cert = readPem('ssl.certificate.location', config.tls.certificateLocation);
    if (config.tls.keyLocation !== undefined) options.key = readPem('ssl.key.location', config.tls.keyLocation);
    socket = tlsConnect(options);
    ready = 'secureConnect';
  } else {
    socket = netConnect({ host: address.host, port: address.port });
    ready = 'connect';
  }
  return new Promise<Socket>((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new ConnectionError(`cannot connect to ${where}: no connection after ${timeoutMs} ms`));
    }, timeoutMs);
    socket.once('error', (err) => {
      clearTimeout(timer);
      socket.destroy();
      reject(new ConnectionError(`cannot connect to ${where}: ${describeError(err)}`));
    });
    socket.once(ready, () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      // Small requests (and pipelined ones) must not wait for Nagle's algorithm.
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}
