// A healthy gRPC load test: events.Events/Send against the fixture at $GRPC_ADDR (host:port), plaintext.
// The proto is loaded from Tests/Fixtures/grpc: k6 resolves import paths relative to this script's directory.
import grpc from 'k6/net/grpc';
import { check } from 'k6';

const client = new grpc.Client();
client.load(['../../grpc'], 'events.proto');

export const options = {
  vus: 1,
  iterations: 5,
  thresholds: { checks: ['rate>0.99'] },
};

export default () => {
  if (__ITER === 0) {
    client.connect(__ENV.GRPC_ADDR, { plaintext: true, timeout: '2s' });
  }
  const response = client.invoke(__ENV.GRPC_METHOD || 'events.Events/Send', { id: `e-${__ITER}`, kind: 'click' });
  check(response, { 'status is OK': (r) => r && r.status === grpc.StatusOK });
};

export function teardown() {
  client.close();
}
