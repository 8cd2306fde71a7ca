// Reading the department's pipeline lists over real HTTP, one page or all of them.
import { expect } from 'vitest';
import { basePath } from '../../src/contract.ts';
import type { TestServer } from '../support/server.ts';

export type Reply = { status: number; headers: Headers; text: string; json: any };
export type Caller = { key: string; department: string };

export async function call(server: TestServer, caller: Caller, path: string): Promise<Reply> {
  const response = await fetch(server.baseUrl + path, {
    headers: { 'X-Api-Key': caller.key, 'X-Department-Id': caller.department },
  });
  const text = await response.text();
  const isJson = /json/.test(response.headers.get('content-type') ?? '');
  return { status: response.status, headers: response.headers, text, json: isJson && text ? JSON.parse(text) : undefined };
}

/** Every page of a list from the first to the last, each checked as a page of `limit`. */
export async function walk<T>(server: TestServer, caller: Caller, path: string, limit: number): Promise<{ pages: T[][]; all: T[] }> {
  const pages: T[][] = [];
  let cursor: string | null = null;
  do {
    const reply = await call(server, caller, `${path}?limit=${limit}${cursor ? `&cursor=${cursor}` : ''}`);
    expect(reply.status, reply.text).toBe(200);
    expect(reply.headers.get('content-type')).toMatch(/^application\/json/);
    expect(Object.keys(reply.json)).toEqual(['data', 'next_cursor']);
    pages.push(reply.json.data);
    cursor = reply.json.next_cursor;
    if (cursor !== null) expect(reply.json.data).toHaveLength(limit);
    expect(pages.length, 'the walk ends').toBeLessThan(100);
  } while (cursor !== null);
  return { pages, all: pages.flat() };
}

export function expectProblem(reply: Reply, status: number, path: string): void {
  expect(reply.status, reply.text).toBe(status);
  expect(reply.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  expect(reply.headers.get('x-request-id')).toBeTruthy();
  expect(reply.json).toMatchObject({ status, instance: basePath + path.split('?')[0] });
}
