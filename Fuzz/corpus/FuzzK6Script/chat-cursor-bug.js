// THE SEED BUG (seeds 000/003): half the history requests send cursor=${Date.now()},
// which is not a message id, so the backend answers 400 "invalid cursor" (47% of
// history requests failed in the seed). Otherwise identical to chat.js.
//
// k6 load test for the sample chat backend (Tests/SampleStack), modelled on the
// seed incident's script: 70% send message, 30% fetch history.
//   CHAT_BASE_URL=http://127.0.0.1:PORT/api/v1/chat k6 run chat.js
// The default URL is the seed's (port 3000 while the backend ran on 3001): set
// CHAT_BASE_URL.
import http from "k6/http";
import { check, sleep } from "k6";
import { Rate, Trend } from "k6/metrics";

const BASE_URL = __ENV.CHAT_BASE_URL || "http://localhost:3000/api/v1/chat";
const CONVERSATION_ID = __ENV.CONVERSATION_ID || "8822dd87-d0c2-42be-93d2-1c0cb492e351";
const USER_ID = __ENV.USER_ID || "00000000-0000-0000-0000-000000000000";
const HISTORY_LIMIT = 20;
const SEND_RATIO = 0.7;

const sendErrors = new Rate("send_errors");
const historyErrors = new Rate("history_errors");
const sendDuration = new Trend("send_duration", true);
const historyDuration = new Trend("history_duration", true);

export const options = {
  vus: Number(__ENV.VUS || 5),
  duration: __ENV.DURATION || "30s",
  thresholds: {
    send_errors: ["rate<0.01"],
    history_errors: ["rate<0.01"],
    send_duration: ["p(95)<500"],
    history_duration: ["p(95)<500"],
    http_req_failed: ["rate<0.01"],
  },
};

const params = { headers: { "Content-Type": "application/json" }, tags: {} };

// Message ids this VU has created: the only valid cursors (see seed 000's fix).
const recentMessageIds = [];

function sendMessage() {
  const body = JSON.stringify({
    userId: USER_ID,
    content: `k6 message from VU ${__VU} iteration ${__ITER}`,
    type: "TEXT",
  });
  const res = http.post(`${BASE_URL}/conversations/${CONVERSATION_ID}/messages`, body,
    Object.assign({}, params, { tags: { name: "send" } }));
  sendDuration.add(res.timings.duration);
  const ok = check(res, {
    "send status 201": (r) => r.status === 201,
    "send returns message id": (r) => r.status === 201 && !!r.json("message.id"),
  });
  sendErrors.add(!ok);
  if (res.status === 201) {
    recentMessageIds.push(res.json("message.id"));
    if (recentMessageIds.length > 100) recentMessageIds.shift();
  }
}

function fetchHistory() {
  // ❌ BROKEN: Invalid cursor (a timestamp, not a message id)
  const cursor = Math.random() < 0.5 ? `&cursor=${Date.now()}` : "";
  const res = http.get(
    `${BASE_URL}/conversations/${CONVERSATION_ID}/messages?userId=${USER_ID}&limit=${HISTORY_LIMIT}${cursor}`,
    { tags: { name: "history" } });
  historyDuration.add(res.timings.duration);
  const ok = check(res, {
    "history status 200": (r) => r.status === 200,
    "history has messages": (r) => r.status === 200 && Array.isArray(r.json("data.messages")),
  });
  historyErrors.add(!ok);
}

export default function () {
  if (Math.random() < SEND_RATIO) {
    sendMessage();
  } else {
    fetchHistory();
  }
  sleep(0.5 + Math.random());
}
