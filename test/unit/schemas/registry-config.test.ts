import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { stringify } from 'yaml';
import { DEFAULT_BROKER_CONFIG } from '../../../src/broker/broker.js';
import { applyConfigFile, parseConfigFile, toConfigFile } from '../../../src/config/config-file.js';
import { DEFAULT_REGISTRY_LIMITS } from '../../../src/schemas/registry-limits.js';

describe('the config file’s schemaRegistry section', () => {
  it('is on by default with the documented bounds; each limit overrides its default; the layout reads back the same', () => {
    assert.deepEqual(DEFAULT_BROKER_CONFIG.schemaRegistry, { enabled: true, limits: DEFAULT_REGISTRY_LIMITS });
    assert.equal(DEFAULT_REGISTRY_LIMITS.maxSchemaBytes, 256 * 1024);
    assert.equal(DEFAULT_REGISTRY_LIMITS.requestsPerSecond, 200);
    const config = applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile('schemaRegistry:\n  enabled: false\n  limits:\n    maxSubjects: 50\n    requestBurst: 10\n', 'sr.yaml'));
    assert.deepEqual(config.schemaRegistry, { enabled: false, limits: { ...DEFAULT_REGISTRY_LIMITS, maxSubjects: 50, requestBurst: 10 } });
    assert.deepEqual(applyConfigFile(DEFAULT_BROKER_CONFIG, parseConfigFile(stringify(toConfigFile(config)), 'printed')), config);
  });

  it('refuses unknown keys and out-of-range bounds, naming the key', () => {
    assert.throws(() => parseConfigFile('schemaRegistry:\n  limits:\n    maxSubjectz: 5\n', 'bad.yaml'), /schemaRegistry\.limits/);
    assert.throws(() => parseConfigFile('schemaRegistry:\n  limits:\n    maxSchemaBytes: 10\n', 'bad.yaml'), /schemaRegistry\.limits\.maxSchemaBytes/);
  });
});
