import { EventEmitter } from 'node:events';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describe, expect, it } from 'vitest';
import { BatchesBusyError, ClientBatchesError } from '../src/errors.js';
import { BatchPlaces } from '../src/routes/assessments/batch-places.js';

let clients = 0;

/** A batch request as the hook sees it: its client's address, its response and its connection, each able to close. */
function batch(socket = new EventEmitter(), ip = `10.0.0.${++clients}`) {
  const response = new EventEmitter();
  return {
    request: { ip, raw: { socket } } as unknown as FastifyRequest,
    reply: { raw: response } as unknown as FastifyReply,
    socket,
    response,
  };
}

/** Runs the onRequest hook and says whether the batch got a place. */
function take(places: BatchPlaces, b: ReturnType<typeof batch>): boolean {
  const outcomes: (Error | undefined)[] = [];
  places.take(b.request, b.reply, (error) => outcomes.push(error));
  expect(outcomes, 'done is called once').toHaveLength(1);
  const [error] = outcomes;
  if (error !== undefined && !(error instanceof BatchesBusyError || error instanceof ClientBatchesError)) throw error;
  return error === undefined;
}

describe('BatchPlaces', () => {
  it('gives one client all places but one, counting an IPv6 /64 as one client, and the last to another client', () => {
    const places = new BatchPlaces(3);
    const first = batch(undefined, '2001:db8:1:2::10');
    expect(take(places, first)).toBe(true);
    expect(take(places, batch(undefined, '2001:db8:1:2::11'))).toBe(true);
    // Guards against: one client holding every place, its answers unread, kept everyone else out.
    const refused: (Error | undefined)[] = [];
    places.take(batch(undefined, '2001:db8:1:2:ffff::1').request, batch().reply, (error) => refused.push(error));
    expect(refused[0]).toBeInstanceOf(ClientBatchesError);
    expect(refused[0]).toMatchObject({ status: 429, code: 'too-many-batches' });
    expect((refused[0] as ClientBatchesError).detail).toMatch(/At most 2 batches of one client/);
    const early: (Error | undefined)[] = [];
    places.refuseWhenFull(batch(undefined, '2001:db8:1:2::12').request, batch().reply, (error) => early.push(error));
    expect(early[0]).toBeInstanceOf(ClientBatchesError);
    expect(take(places, batch(undefined, '2001:db8:1:3::10'))).toBe(true);
    // Every place taken: any client's next batch is the server's refusal, a 503.
    const full: (Error | undefined)[] = [];
    places.refuseWhenFull(batch(undefined, '2001:db8:1:4::1').request, batch().reply, (error) => full.push(error));
    expect(full[0]).toMatchObject({ status: 503, code: 'overloaded' });
    // Its places given back, the client may take them again.
    first.response.emit('close');
    expect(take(places, batch(undefined, '2001:db8:1:2::13'))).toBe(true);
  });

  it('gives a client the one place when the limit is 1', () => {
    const places = new BatchPlaces(1);
    expect([take(places, batch(undefined, '10.9.9.9')), take(places, batch(undefined, '10.9.9.8'))]).toEqual([true, false]);
  });

  /** What the hook answers a batch of this client: taken, or the refusal's status and code. */
  const outcome = (places: BatchPlaces, ip: string) => {
    const outcomes: (Error | undefined)[] = [];
    places.take(batch(undefined, ip).request, batch().reply, (error) => outcomes.push(error));
    const [error] = outcomes as (ClientBatchesError | BatchesBusyError | undefined)[];
    return error === undefined ? 'taken' : `${error.status} ${error.code}`;
  };

  // Guards against (from a review): the server's limit was checked first, so a client over its own
  // share was told 503 overloaded, the server's doing, whenever every place was also taken.
  it('tells a client at its share 429 even while every place is taken, and another client 503', () => {
    const one = new BatchPlaces(1);
    expect([outcome(one, '10.1.1.1'), outcome(one, '10.1.1.1'), outcome(one, '10.3.3.3')]).toEqual([
      'taken',
      '429 too-many-batches',
      '503 overloaded',
    ]);
    const two = new BatchPlaces(2);
    expect([outcome(two, '10.1.1.1'), outcome(two, '10.2.2.2'), outcome(two, '10.1.1.1'), outcome(two, '10.3.3.3')]).toEqual([
      'taken',
      'taken',
      '429 too-many-batches',
      '503 overloaded',
    ]);
  });

  it('gives out as many places as its limit, then refuses with 503 overloaded', () => {
    const places = new BatchPlaces(2);
    expect([take(places, batch()), take(places, batch()), take(places, batch())]).toEqual([true, true, false]);
  });

  it('takes a place back once however often a handler gives it back', () => {
    const places = new BatchPlaces(2);
    const first = batch();
    expect(take(places, first)).toBe(true);
    expect(take(places, batch())).toBe(true);
    const giveBack = places.claim(first.request);
    giveBack();
    giveBack();
    first.response.emit('close');
    expect([take(places, batch()), take(places, batch())]).toEqual([true, false]);
  });

  it('keeps the place of a batch whose handler has started until the handler gives it back, whoever hangs up', () => {
    const places = new BatchPlaces(1);
    const started = batch();
    expect(take(places, started)).toBe(true);
    const giveBack = places.claim(started.request);
    started.response.emit('close');
    started.socket.emit('close');
    expect(take(places, batch())).toBe(false);
    giveBack();
    expect(take(places, batch())).toBe(true);
  });

  it('keeps the place of a batch whose handler has ended until its response closes', () => {
    const places = new BatchPlaces(1);
    const answered = batch();
    expect(take(places, answered)).toBe(true);
    places.claim(answered.request)();
    expect(take(places, batch())).toBe(false);
    answered.response.emit('close');
    expect(take(places, batch())).toBe(true);
  });

  it('takes back the place of a batch never handled when its response closes, and stops watching its connection', () => {
    const places = new BatchPlaces(1);
    const refused = batch();
    expect(take(places, refused)).toBe(true);
    expect(refused.socket.listenerCount('close')).toBe(1);
    refused.response.emit('close');
    // A keep-alive connection carries many batches: each must leave no listener behind.
    expect(refused.socket.listenerCount('close')).toBe(0);
    expect(take(places, batch())).toBe(true);
  });

  it('takes back the place of a batch queued on a connection that dies before its response starts', () => {
    const places = new BatchPlaces(1);
    const queued = batch();
    expect(take(places, queued)).toBe(true);
    queued.socket.emit('close');
    expect(take(places, batch())).toBe(true);
  });

  it('refuses a batch on its headers alone only while every place is taken, and again when its body has arrived', () => {
    const places = new BatchPlaces(1);
    const early = (b: ReturnType<typeof batch>) => {
      const outcomes: (Error | undefined)[] = [];
      places.refuseWhenFull(b.request, b.reply, (error) => outcomes.push(error));
      return outcomes;
    };
    const [a, b] = [batch(), batch()];
    // Both pass the early check while the place is free; the first to arrive whole takes it.
    expect(early(a)).toEqual([undefined]);
    expect(early(b)).toEqual([undefined]);
    expect(take(places, a)).toBe(true);
    expect(take(places, b)).toBe(false);
    const [refused] = early(batch());
    expect(refused).toBeInstanceOf(BatchesBusyError);
  });

  it('lets a handler claim a request that holds no place, giving back nothing', () => {
    const places = new BatchPlaces(1);
    expect(take(places, batch())).toBe(true);
    places.claim(batch().request)();
    expect(take(places, batch())).toBe(false);
  });
});
