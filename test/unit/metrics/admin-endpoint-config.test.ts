import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { DEFAULT_BROKER_CONFIG } from '../../../src/broker/broker.js';
import { applyConfigFile, parseConfigFile, toConfigFile } from '../../../src/config/config-file.js';

describe('adminEndpoint in the config file', () => {
  it('is merged key by key over the defaults, its paths and token file taken from the config file directory', () => {
    const text = [
      'adminEndpoint:',
      '  host: 0.0.0.0',
      '  tls: { certFile: tls/admin.crt, keyFile: tls/admin.key, caFile: tls/ca.crt, clientAuth: required }',
      '  bearerToken: ${file:admin.token}',
      'allowInsecureAdminEndpoint: false',
      '',
    ].join('\n');
    const config = applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile(text, 'p.yaml'), '/etc/parapet');
    assert.deepEqual(config.adminEndpoint, {
      enabled: true,
      host: '0.0.0.0',
      port: 9644,
      tls: { certFile: '/etc/parapet/tls/admin.crt', keyFile: '/etc/parapet/tls/admin.key', caFile: '/etc/parapet/tls/ca.crt', clientAuth: 'required' },
      bearerToken: '${file:/etc/parapet/admin.token}',
    });
    // What check-config prints configures the same broker.
    assert.deepEqual(applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile(stringify(toConfigFile(config)), 'printed')), config);
    assert.equal(applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile('adminEndpoint: { enabled: false }\n', 'off.yaml')).adminEndpoint.enabled, false);
  });

  it('refuses a token written in the file, an unknown key, a port out of range', () => {
    assert.throws(() => parseConfigFile('adminEndpoint: { bearerToken: hunter2hunter2hunter2 }\n', 'p.yaml'), /adminEndpoint\.bearerToken: a secret is given by reference/);
    assert.throws(() => parseConfigFile('adminEndpoint: { path: /metrics }\n', 'p.yaml'), /adminEndpoint: Unrecognized key/);
    assert.throws(() => parseConfigFile('adminEndpoint: { port: 70000 }\n', 'p.yaml'), /adminEndpoint\.port/);
  });
});
