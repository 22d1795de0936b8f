// A body sent with two Content-Type lines (src/json-body.ts, src/app.ts): refused whatever the case of the
// names and however the body is framed, and only when a route reads a body.
import { describe, expect, it } from 'vitest';
import { exchange, listeningForBlock, raw } from './support/http.js';

describe('two Content-Type lines, over a real connection', () => {
  const connection = listeningForBlock();

  const body = '{"answers":[]}';
  const statusLines = (data: string) => data.split('\r\n').filter((line) => line.startsWith('HTTP/1.1 '));
  const problemIn = (response: string) =>
    JSON.parse(response.slice(response.indexOf('\r\n\r\n') + 4)) as { code: string; errors?: { field: string }[] };
  const fieldsIn = (response: string) => (problemIn(response).errors ?? []).map((e) => e.field);

  // Header names are case-insensitive (RFC 9110 §5.1). Guards against: lines counted only when spelt alike.
  it('counts Content-Type lines whatever their case', async () => {
    const response = await raw(
      connection.port,
      `POST /v1/assessments/preview HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\nCONTENT-TYPE: text/plain\r\n` +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(fieldsIn(response)).toEqual(['headers.content-type']);
  });

  // A chunked body is a body. Guards against: only Content-Length was taken as announcing one.
  it('refuses a chunked body sent with two Content-Type lines', async () => {
    const response = await raw(
      connection.port,
      'POST /v1/assessments/preview HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\n' +
        `Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n${body.length.toString(16)}\r\n${body}\r\n0\r\n\r\n`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(fieldsIn(response)).toEqual(['headers.content-type']);
  });

  // Left alone: a request without a body, one whose Content-Length is 0, and one no route takes.
  it('leaves alone a GET without a body that has two Content-Type lines', async () => {
    const response = await raw(
      connection.port,
      'GET /health HTTP/1.1\r\nHost: x\r\nContent-Type: a/b\r\nContent-Type: c/d\r\nConnection: close\r\n\r\n',
    );
    expect(response).toMatch(/^HTTP\/1\.1 200 /);
  });

  it('answers an empty body with two Content-Type lines as an empty body', async () => {
    const response = await raw(
      connection.port,
      'POST /v1/assessments/preview HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Type: application/json\r\n' +
        'Content-Length: 0\r\nConnection: close\r\n\r\n',
    );
    expect(response).toMatch(/^HTTP\/1\.1 400 /);
    expect(problemIn(response).code).toBe('malformed-body');
    expect(fieldsIn(response)).not.toContain('headers.content-type');
  });

  it('answers a path no route takes with 404, not with the Content-Type check', async () => {
    const response = await raw(
      connection.port,
      'POST /v1/nowhere HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\n' +
        `Content-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`,
    );
    expect(response).toMatch(/^HTTP\/1\.1 404 /);
  });

  // The check is made before the client is told to send the body. Guards against: the hook added
  // after continueBeforeBody, so 100 Continue was sent for a body that was then refused unread.
  it('refuses two Content-Type lines without sending 100 Continue first', async () => {
    const { data } = await exchange(
      connection.port,
      (socket) =>
        socket.write(
          'POST /v1/assessments/preview HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Type: text/plain\r\n' +
            `Content-Length: ${body.length}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n`,
        ),
      2000,
    );
    expect(statusLines(data)[0]).toMatch(/^HTTP\/1\.1 400 /);
    expect(data).not.toContain('100 Continue');
  });
});
