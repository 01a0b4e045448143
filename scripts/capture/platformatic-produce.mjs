// Sends two keyed messages with a header through @platformatic/kafka (frames captured by test/tools/record-frames).
// The client lives in test/clients/ (npm run install:interop-clients), mapped by package.json "imports".
import { Producer, stringSerializers } from '#platformatic-kafka';

const producer = new Producer({ clientId: 'capture-platformatic', bootstrapBrokers: [process.argv[2]], serializers: stringSerializers, retries: 0 });
await producer.send({
  acks: -1,
  messages: [
    { topic: 'fixtures', key: 'k1', value: 'hello-1', headers: { h: 'v' } },
    { topic: 'fixtures', key: 'k2', value: 'hello-2' },
  ],
});
await producer.close();
