// One VU, one connection, one call, then $GRPC_CALLS (default 8) unary calls in flight at once with asyncInvoke: what a server's
// max_concurrent_streams (HTTP/2 SETTINGS) does to one k6 VU's concurrency.
import grpc from 'k6/net/grpc';
import { check } from 'k6';

const client = new grpc.Client();
client.load(['../../grpc'], 'events.proto');

export const options = {
  vus: 1,
  iterations: 1,
  thresholds: { checks: ['rate>0.99'] },
};

export default async () => {
  client.connect(__ENV.GRPC_ADDR, { plaintext: true, timeout: '2s' });
  // One call first (unless GRPC_WARMUP=0): until the server's SETTINGS frame has arrived, grpc-go does not know its
  // max_concurrent_streams, and calls beyond it are refused (status 14, RST_STREAM REFUSED_STREAM) instead of queued.
  if (__ENV.GRPC_WARMUP !== '0') {
    check(client.invoke('events.Events/Send', { id: 'warm-up', kind: 'burst' }), { 'status is OK': (r) => r && r.status === grpc.StatusOK });
  }
  const calls = [];
  for (let i = 0; i < Number(__ENV.GRPC_CALLS || 8); i++) {
    calls.push(client.asyncInvoke('events.Events/Send', { id: `e-${i}`, kind: 'burst' }));
  }
  for (const response of await Promise.all(calls)) {
    if (response.status !== grpc.StatusOK) console.log('failed ' + JSON.stringify({ status: response.status, error: response.error }));
    check(response, { 'status is OK': (r) => r && r.status === grpc.StatusOK });
  }
  client.close();
};
