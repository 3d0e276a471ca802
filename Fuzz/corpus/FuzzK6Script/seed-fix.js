// Seed 003: the fix, cursor removed.
import http from "k6/http";

const BASE_URL = __ENV.CHAT_BASE_URL || "http://localhost:3000/api/v1/chat";
const HISTORY_LIMIT = 20;
const conversationId = "8822dd87-d0c2-42be-93d2-1c0cb492e351";
const userId = "00000000-0000-0000-0000-000000000000";

function fetchHistory() {
  const res = http.get(
    `${BASE_URL}/conversations/${conversationId}/messages?userId=${userId}&limit=${HISTORY_LIMIT}`
  );
}

export default function () { fetchHistory(); }
