// Sends two keyed messages with a header through KafkaJS (frames captured by test/tools/record-frames).
import { Kafka, logLevel } from 'kafkajs';

const kafka = new Kafka({ clientId: 'capture-kafkajs', brokers: [process.argv[2]], logLevel: logLevel.NOTHING, retry: { retries: 0 } });
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
await producer.send({ topic: 'fixtures', acks: -1, messages: [{ key: 'k1', value: 'hello-1', headers: { h: 'v' } }, { key: 'k2', value: 'hello-2' }] });
await producer.disconnect();
