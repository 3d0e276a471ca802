// Seed 003's "future enhancement": cursors are message ids taken from responses.
import http from "k6/http";

const BASE_URL = __ENV.CHAT_BASE_URL || "http://localhost:3000/api/v1/chat";
const conversationId = "8822dd87-d0c2-42be-93d2-1c0cb492e351";
let recentMessageIds = [];

function sendMessage() {
  const res = http.post(`${BASE_URL}/conversations/${conversationId}/messages`, JSON.stringify({ content: "hi" }));
  if (res.status === 201) {
    const messageId = JSON.parse(res.body).message.id;
    recentMessageIds.push(messageId);
    if (recentMessageIds.length > 100) recentMessageIds.shift();
  }
}

function fetchHistory() {
  let cursor = "";
  if (recentMessageIds.length > 0 && Math.random() < 0.3) {
    cursor = `&cursor=${recentMessageIds[Math.floor(Math.random() * recentMessageIds.length)]}`;
  }
  const res = http.get(`${BASE_URL}/conversations/${conversationId}/messages?limit=20${cursor}`);
}

export default function () { Math.random() < 0.7 ? sendMessage() : fetchHistory(); }
