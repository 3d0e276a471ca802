// One k6 script for every fixture; KIND picks the traffic, BASE the loopback server.
import http from 'k6/http';
import { check, sleep } from 'k6';

const KIND = __ENV.KIND;
const BASE = __ENV.BASE;

const scenarios = {
  refused: { executor: 'shared-iterations', vus: 2, iterations: 30 },
  ratelimit: { executor: 'shared-iterations', vus: 2, iterations: 30 },
  servererror: { executor: 'shared-iterations', vus: 2, iterations: 20 },
  // more arrivals than 2 VUs can serve at 500 ms each: k6 drops iterations
  slow: { executor: 'constant-arrival-rate', rate: 10, timeUnit: '1s', duration: '3s', preAllocatedVUs: 2, maxVUs: 2 },
  cursor: { executor: 'shared-iterations', vus: 2, iterations: 30 },
  pass: { executor: 'shared-iterations', vus: 2, iterations: 30 },
  reset: { executor: 'shared-iterations', vus: 2, iterations: 20 },
  tls: { executor: 'shared-iterations', vus: 2, iterations: 20 },
};

export const options = {
  scenarios: { [KIND]: scenarios[KIND] },
  thresholds: {
    http_req_failed: ['rate<0.01'],
    http_req_duration: ['p(95)<250'],
  },
};

export default function () {
  if (KIND === 'servererror') {
    // only the health path is checked: the 500s on /api/orders go unchecked
    const h = http.get(`${BASE}/api/health`, { tags: { name: 'health' } });
    check(h, { 'health: status 200': (r) => r.status === 200 });
    http.get(`${BASE}/api/orders`, { tags: { name: 'orders' } });
  } else if (KIND === 'cursor') {
    http.get(`${BASE}/api/items`, { tags: { name: 'items' } });
    const r = http.get(`${BASE}/api/feed?cursor=${__ITER + __VU}`, { tags: { name: 'feed' } });
    check(r, { 'feed: status 200': (x) => x.status === 200 });
  } else if (KIND === 'slow') {
    const r = http.get(`${BASE}/api/slow`, { timeout: '500ms' });
    check(r, { 'slow: status 200': (x) => x.status === 200 });
  } else {
    const r = http.get(`${BASE}/api/send`);
    check(r, { 'send: status 200': (x) => x.status === 200 });
  }
  sleep(0.05);
}

export function handleSummary(data) {
  return { [__ENV.SUMMARY_DATA]: JSON.stringify(data, null, 2) };
}
