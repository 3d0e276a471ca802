import http from "k6/http";
const BASE = "http://127.0.0.1:3001";
http.get(`${BASE}/ok`);
const broken = "no end
