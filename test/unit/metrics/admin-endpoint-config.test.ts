import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { DEFAULT_BROKER_CONFIG } from '../../../src/broker/broker.js';
import { applyConfigFile, parseConfigFile, toConfigFile } from '../../../src/config/config-file.js';
import { runParapet } from '../../helpers/cli-process.js';

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

  it('parapet check-config refuses a non-loopback admin endpoint without TLS and a token, and warns when it is allowed by name', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'parapet-check-admin-'));
    t.after(() => {
      rmSync(dir, { recursive: true, force: true });
    });
    const file = join(dir, 'p.yaml');
    writeFileSync(file, 'adminEndpoint: { host: 0.0.0.0 }\n');
    const refused = await runParapet(['check-config', file]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, /the admin endpoint may only bind a loopback address without TLS .* set allowInsecureAdminEndpoint: true/);
    writeFileSync(file, 'adminEndpoint: { host: 0.0.0.0 }\nallowInsecureAdminEndpoint: true\n');
    const allowed = await runParapet(['check-config', file]);
    assert.equal(allowed.code, 0);
    assert.match(allowed.stderr, /warning: allowInsecureAdminEndpoint: the admin endpoint on 0\.0\.0\.0 is reachable from other machines/);
    assert.match(allowed.stdout, /# OK: .* \(1 warning\(s\) on stderr\)/);
  });
});
