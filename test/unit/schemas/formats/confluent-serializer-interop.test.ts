import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { avroFormat } from '../../../../src/schemas/formats/avro.js';
import type { SchemaFormat } from '../../../../src/schemas/formats/format.js';
import { protobufFormat } from '../../../../src/schemas/formats/protobuf.js';
import type { CompiledSchema } from '../../../../src/schemas/types.js';
import { PayloadError } from '../../../../src/schemas/types.js';
import { readWireFormat, writeWireFormat } from '../../../../src/schemas/wire-format.js';

/**
 * Payloads written by @kafkajs/confluent-schema-registry (the serializer KafkaJS users run), installed in
 * test/clients by `npm run install:interop-clients`: its own encode, fed by a stand-in registry that
 * answers GET /schemas/ids/{id} as Confluent's does, decodes with our formats and re-encodes to the same
 * bytes; and what we encode, its decode reads back.
 */

// dist/test/unit/schemas/formats/ → the repository's test/clients/.
const clients = fileURLToPath(new URL('../../../../../test/clients/package.json', import.meta.url));
const installed = existsSync(fileURLToPath(new URL('../../../../../test/clients/node_modules/@kafkajs/confluent-schema-registry/package.json', import.meta.url)));
const skip = installed || process.env.PARAPET_FULL_SUITE === '1' ? false : '@kafkajs/confluent-schema-registry is not installed in test/clients: npm run install:interop-clients';

interface Registry {
  encode(id: number, payload: unknown): Promise<Buffer>;
  decode(buffer: Buffer): Promise<unknown>;
}
type RegistryClass = new (args: { host: string; retry?: { retries: number } }) => Registry;

const SCHEMAS = new Map<number, { schema: string; schemaType?: string }>([
  [
    1,
    {
      schema: JSON.stringify({
        type: 'record',
        name: 'Payment',
        namespace: 'com.example',
        fields: [
          { name: 'id', type: 'string' },
          { name: 'amount', type: 'double' },
          { name: 'count', type: 'long' },
          { name: 'card', type: ['null', 'string'], default: null },
          { name: 'tags', type: { type: 'array', items: 'string' } },
          { name: 'meta', type: { type: 'map', values: 'int' } },
          { name: 'kind', type: { type: 'enum', name: 'Kind', symbols: ['DEBIT', 'CREDIT'] } },
        ],
      }),
    },
  ],
  [
    2,
    {
      schemaType: 'PROTOBUF',
      schema: 'syntax = "proto3";\npackage com.example;\nmessage Payment {\n  string id = 1;\n  double amount = 2;\n  int64 count = 3;\n  string card = 4;\n  repeated string tags = 5;\n  map<string, int32> meta = 6;\n  enum Kind { DEBIT = 0; CREDIT = 1; }\n  Kind kind = 7;\n  bytes note = 8;\n}\n',
    },
  ],
]);

describe('payloads of @kafkajs/confluent-schema-registry', { skip }, () => {
  let server: Server;
  let registry: Registry;

  before(async () => {
    server = createServer((req, res) => {
      const id = /^\/schemas\/ids\/(\d+)$/.exec(req.url ?? '')?.[1];
      const found = id === undefined ? undefined : SCHEMAS.get(Number(id));
      res.setHeader('content-type', 'application/vnd.schemaregistry.v1+json');
      if (found === undefined) {
        res.statusCode = 404;
        res.end(JSON.stringify({ error_code: 40403, message: 'Schema not found' }));
        return;
      }
      res.end(JSON.stringify(found));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const SchemaRegistry = (createRequire(clients)('@kafkajs/confluent-schema-registry') as { SchemaRegistry: RegistryClass }).SchemaRegistry;
    registry = new SchemaRegistry({ host: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, retry: { retries: 0 } });
  });
  after(() => new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  }));

  const compile = (format: SchemaFormat, id: number): CompiledSchema => {
    const entry = SCHEMAS.get(id);
    assert.ok(entry);
    const parsed = format.parse(entry.schema, new Map());
    if ('error' in parsed) assert.fail(parsed.error);
    return format.compile(id, parsed);
  };

  it('Avro: its encode decodes with ours and re-encodes byte for byte; its decode reads what we encode', async () => {
    const payment = { id: 'p-1', amount: 12.5, count: 3, card: 'secret-card', tags: ['a', 'b'], meta: { x: 1 }, kind: 'CREDIT' };
    const written = await registry.encode(1, payment);
    const frame = readWireFormat(written);
    assert.ok(frame.kind === 'framed' && frame.schemaId === 1);
    const avro = compile(avroFormat, 1);
    const decoded = avro.decode(frame.payload);
    assert.deepEqual(decoded.value, payment);
    assert.ok(writeWireFormat(1, avro.encode(decoded)).equals(written));
    // A masked value written back is what the library reads.
    const masked = avro.encode({ value: { ...payment, card: '****' } });
    assert.deepEqual({ ...(await registry.decode(writeWireFormat(1, masked)) as object) }, { ...payment, card: '****' });
  });

  it('Protobuf: its message bytes, behind Confluent\'s [0] index, decode and re-encode byte for byte; its decode reads what we encode', async () => {
    // Its serializer takes protobufjs message objects (an enum by number, an int64 as a number or Long)…
    const written = await registry.encode(2, { id: 'p-2', amount: 1.25, count: 42, card: 'secret-card', tags: ['x'], meta: { k: 7 }, kind: 1, note: Buffer.from('hi') });
    // …we decode to names and decimal strings (protobuf's JSON mapping).
    const payment = { id: 'p-2', amount: 1.25, count: '42', card: 'secret-card', tags: ['x'], meta: { k: 7 }, kind: 'CREDIT', note: Buffer.from('hi') };
    const frame = readWireFormat(written);
    assert.ok(frame.kind === 'framed' && frame.schemaId === 2);
    const proto = compile(protobufFormat, 2);
    // The library writes the message without Confluent's message indexes (kafkajs/confluent-schema-registry#152):
    // what Confluent's serializers write for the first message is the index byte 0, then these bytes.
    const confluentPayload = Buffer.concat([Buffer.of(0), frame.payload]);
    const decoded = proto.decode(confluentPayload);
    assert.deepEqual(decoded, { value: payment, messageIndexes: [0] });
    assert.ok(proto.encode(decoded).equals(confluentPayload));
    // Its payload as it is, without the indexes, is not Confluent's wire format: refused, not misread.
    assert.throws(() => proto.decode(frame.payload), PayloadError);
    // Its decode skips leading zero bytes, so it reads the [0] index we write.
    const masked = proto.encode({ value: { ...payment, card: '****' }, messageIndexes: [0] });
    const read = (await registry.decode(writeWireFormat(2, masked))) as { card: string; id: string };
    assert.equal(read.card, '****');
    assert.equal(read.id, 'p-2');
  });
});
