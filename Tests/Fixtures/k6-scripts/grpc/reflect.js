// As healthy.js, with the service described by the server's reflection instead of a proto file.
import grpc from 'k6/net/grpc';
import { check } from 'k6';

const client = new grpc.Client();

export const options = {
  vus: 1,
  iterations: 5,
  thresholds: { checks: ['rate>0.99'] },
};

export default () => {
  if (__ITER === 0) {
    client.connect(__ENV.GRPC_ADDR, { plaintext: true, reflect: true, timeout: '2s' });
  }
  const response = client.invoke(__ENV.GRPC_METHOD || 'events.Events/Send', { id: `e-${__ITER}`, kind: 'click' });
  check(response, { 'status is OK': (r) => r && r.status === grpc.StatusOK });
};
