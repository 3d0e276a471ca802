// Arrival-rate variant of chat.js for the sample stack's arrival-short scenario (issue 31): 20 history reads a
// second, each iteration sleeping 1 s after its request, with at most 5 VUs. By Little's law 20/s × ≥1 s needs
// at least 20 VUs; 5 start at most 5 iterations a second, so k6 drops ~15/s ("Insufficient VUs").
//   CHAT_BASE_URL=http://127.0.0.1:PORT/api/v1/chat k6 run chat-arrival.js
import http from "k6/http";
import { sleep } from "k6";

const BASE_URL = __ENV.CHAT_BASE_URL || "http://localhost:3000/api/v1/chat";
const CONVERSATION_ID = __ENV.CONVERSATION_ID || "8822dd87-d0c2-42be-93d2-1c0cb492e351";
const USER_ID = __ENV.USER_ID || "00000000-0000-0000-0000-000000000000";

export const options = {
  scenarios: {
    history: { executor: "constant-arrival-rate", rate: 20, timeUnit: "1s", duration: "20s", preAllocatedVUs: 5, maxVUs: 5 },
  },
  thresholds: { http_req_failed: ["rate<0.01"] },
};

export default function () {
  http.get(`${BASE_URL}/conversations/${CONVERSATION_ID}/messages?userId=${USER_ID}&limit=20`);
  sleep(1);
}
