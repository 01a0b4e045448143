# Sends two keyed messages with a header through kafka-python 2.0.2 (frames captured by test/tools/record-frames).
import sys
from kafka import KafkaProducer

producer = KafkaProducer(bootstrap_servers=sys.argv[1], client_id='capture-kafka-python', acks='all', retries=0)
producer.send('fixtures', key=b'k1', value=b'hello-1', headers=[('h', b'v')])
producer.send('fixtures', key=b'k2', value=b'hello-2')
producer.flush(10)
producer.close(5)
