/* A block comment with a URL: http.get("http://localhost:9999/?cursor=" + Date.now())
   spanning lines */
import http from "k6/http";
// http.get(`http://localhost:9999/x?cursor=${Math.random()}`)
const BASE = __ENV.BASE_URL ?? "http://127.0.0.1:3001";
const re = /https?:\/\/[^/]+\/(cursor|after)=`\${x}/g;
const half = 10 / 2 / 1;
const LEVEL = 5;
const nested = `${BASE}/a/${`inner-${`deep-${LEVEL}`}`}/b`;
const quoted = 'it\'s "fine" // not a comment';
const objs = { a: { b: `${"}"}` } };

export default function () {
  if (re.test(quoted)) { http.get(nested); }
  http.get(`${BASE}/list?after=${`${new Date().toISOString()}`}`);
}
