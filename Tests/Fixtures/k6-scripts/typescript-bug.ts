// The invented cursor, in TypeScript and through http.url.
import http from 'k6/http';
import type { Options } from 'k6/options';

const BASE: string = __ENV.BASE_URL || 'http://127.0.0.1:3001/api';

export const options: Options = { vus: 5 as number, duration: '30s' };

export default function (): void {
  const res = http.get(http.url`${BASE}/items?cursor=${Date.now()}`);
  const next = (res.json('next') as string) ?? '';
}
