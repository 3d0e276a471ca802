// The seed's fourth system (Tests/SampleStack): chat history over HTTP and chat events over gRPC, one of each
// per iteration, each checked.
//   CHAT_BASE_URL=http://127.0.0.1:PORT/api/v1/chat EVENTS_ADDR=127.0.0.1:PORT k6 run chat-grpc.js
import http from "k6/http";
import grpc from "k6/net/grpc";
import { check, sleep } from "k6";

const BASE_URL = __ENV.CHAT_BASE_URL || "http://localhost:3000/api/v1/chat";
const EVENTS_ADDR = __ENV.EVENTS_ADDR || "localhost:50051";
const CONVERSATION_ID = __ENV.CONVERSATION_ID || "8822dd87-d0c2-42be-93d2-1c0cb492e351";
const USER_ID = __ENV.USER_ID || "00000000-0000-0000-0000-000000000000";

const events = new grpc.Client();
events.load(["../proto"], "events.proto");

export const options = {
  vus: Number(__ENV.VUS || 5),
  duration: __ENV.DURATION || "30s",
  thresholds: {
    http_req_failed: ["rate<0.01"],
    checks: ["rate>0.99"],
  },
};

export default function () {
  if (__ITER === 0) events.connect(EVENTS_ADDR, { plaintext: true, timeout: "2s" });
  const history = http.get(`${BASE_URL}/conversations/${CONVERSATION_ID}/messages?userId=${USER_ID}&limit=20`,
    { tags: { name: "history" } });
  check(history, { "history status 200": (r) => r.status === 200 });
  const ack = events.invoke("events.Events/SendEvent",
    { conversation_id: CONVERSATION_ID, type: "typing", payload: `VU ${__VU} iteration ${__ITER}` });
  check(ack, { "event accepted": (r) => r && r.status === grpc.StatusOK });
  sleep(0.1);
}
