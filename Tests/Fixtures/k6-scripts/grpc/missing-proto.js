// Loads a proto file that does not exist: k6 fails in its init context, before any VU runs.
import grpc from 'k6/net/grpc';
import { check } from 'k6';

const client = new grpc.Client();
client.load(['../../grpc'], 'does-not-exist.proto');

export const options = {
  vus: 1,
  iterations: 1,
  thresholds: { checks: ['rate>0.99'] },
};

export default () => {
  client.connect(__ENV.GRPC_ADDR, { plaintext: true, timeout: '2s' });
  const response = client.invoke('events.Events/Send', { id: 'e-1' });
  check(response, { 'status is OK': (r) => r && r.status === grpc.StatusOK });
};
