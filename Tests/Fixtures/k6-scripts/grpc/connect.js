// healthy.js with the connect parameters from $GRPC_CONNECT (JSON, default {"plaintext": true}): TLS either way,
// timeouts, reflection. One iteration unless told.
import grpc from 'k6/net/grpc';
import { check } from 'k6';

const client = new grpc.Client();
client.load(['../../grpc'], 'events.proto');

export const options = {
  vus: 1,
  iterations: 1,
  thresholds: { checks: ['rate>0.99'] },
};

export default () => {
  if (__ITER === 0) {
    client.connect(__ENV.GRPC_ADDR, JSON.parse(__ENV.GRPC_CONNECT || '{"plaintext": true}'));
  }
  const response = client.invoke(__ENV.GRPC_METHOD || 'events.Events/Send', { id: `e-${__ITER}`, kind: 'click' });
  check(response, { 'status is OK': (r) => r && r.status === grpc.StatusOK });
};
