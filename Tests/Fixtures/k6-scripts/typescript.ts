// A k6 script in TypeScript (k6 runs .ts files by stripping the types): every type-only form.
import http from 'k6/http';
import type { Options } from 'k6/options';
import { check, sleep, type Checkers } from 'k6';
import type Default from './types';

interface Message {
  id: string;
  body?: string;
}

export interface Page<T> extends Base {
  items: T[];
  next: string | null;
}

type Cursor = string | undefined;
type Pair<A, B> = [A, B];
declare const __TEST__: boolean;

const BASE_URL: string = __ENV.BASE_URL || 'http://127.0.0.1:3001/api';
let cursor!: Cursor;
const LIMIT: number = 20, ROOM: string = 'general';

export const options: Options = {
  scenarios: {
    readers: { executor: 'constant-vus', vus: 30 as number, duration: '1m' },
  },
  thresholds: { http_req_failed: ['rate<0.01'] },
} satisfies Options;

function url<T extends string>(path: T, query?: Record<string, string>): string {
  return `${BASE_URL}${path}`;
}

const parse = (r: { body: string | null }): Page<Message> => JSON.parse(r.body as string) as Page<Message>;

export default function (): void {
  const res = http.get(`${BASE_URL}/rooms/${ROOM}/messages?limit=${LIMIT}${cursor ? `&cursor=${cursor}` : ''}`);
  const page = parse(res as unknown as { body: string | null });
  cursor = page.next!;
  const ids = new Map<string, number>();
  check<typeof res>(res, { ok: (r) => r.status === 200 } as Checkers<typeof res>);
  sleep(1);
}
