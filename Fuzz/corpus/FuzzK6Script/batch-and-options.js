import http from "k6/http";
import { Counter } from "k6/metrics";

const API = `${__ENV.API || "http://127.0.0.1:3001"}/api`;
const pages = new Counter("pages_read");
let page = 0;

export const options = {
  scenarios: {
    readers: { executor: "ramping-vus", startVUs: 2, stages: [{ duration: "1m", target: 30 }, { duration: "2m", target: 50 }] },
    writers: { executor: "constant-arrival-rate", rate: 10, preAllocatedVUs: 5, maxVUs: 25 },
  },
  thresholds: {
    pages_read: ["count>=0"],
    "http_req_duration{name:feed}": ["p(95)<300"],
    made_up_metric: ["rate<0.1"],
    http_req_failed: [{ threshold: "rate<=1", abortOnFail: true }],
  },
};

export default function () {
  page++;
  const responses = http.batch([
    ["GET", `${API}/feed?page=${page}`, null, { tags: { name: "feed" } }],
    { method: "GET", url: API + "/items?since_id=" + Date.now() },
    `${API}/health`,
  ]);
  pages.add(1);
  const next = responses[0].json("next_cursor");
  http.get(`${API}/feed?cursor=${next}`);
}
