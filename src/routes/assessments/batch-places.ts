import type { FastifyReply, FastifyRequest } from 'fastify';
import { BatchesBusyError, ClientBatchesError } from '../../errors.js';
import { clientKey } from '../../plugins/protection.js';

/** A batch's place: given back once its answer is done with and no handler is running for it. */
type Place = { client: string; handlerRunning: boolean; answerDone: boolean; given: boolean };

/**
 * The batches under way at once. A 500-item batch holds about 40 MB while it is scored, stored and
 * sent, and two cores score one no faster for having several at once: those beyond the limit are
 * refused (503), so that parallel batches cannot run the server out of memory. A batch takes its
 * place once its body has arrived, before the body is parsed (the route parses it itself, after this
 * hook), so batches beyond the limit are refused unparsed. Taken any earlier, a client that trickled
 * two bodies would keep every other client's batches out; the price is that bodies still arriving
 * (buffered, up to the batch body limit each) are bounded by the write budget alone. It keeps the place
 * until its answer has been written out or its connection has closed, and until its handler has
 * ended: an answer a client does not read holds its memory as long as the batch did, and a client
 * that hangs up does not stop a batch being scored. While every place is taken, a batch is refused
 * as soon as its headers arrive, before its body is read.
 *
 * One client (an address, or an IPv6 /64, as the write budget counts them) holds at most all places
 * but one: two batches whose answers it never read would otherwise keep every other client's
 * batches out for as long as the server waits on them, again and again. A batch over its client's
 * share is that client's doing, not the server's load, so it is a 429 rather than a 503.
 */
export class BatchPlaces {
  private underWay = 0;
  private readonly places = new WeakMap<FastifyRequest, Place>();
  /** Places held per client, for the clients that hold any. */
  private readonly held = new Map<string, number>();
  private readonly perClient: number;

  constructor(private readonly limit: number) {
    this.perClient = Math.max(1, limit - 1);
  }

  /** Why a batch of this client cannot have a place now, or undefined. */
  private refusal(client: string): BatchesBusyError | ClientBatchesError | undefined {
    // Its own share first: a client that holds it is told so (429) even while every place is taken.
    if ((this.held.get(client) ?? 0) >= this.perClient) return new ClientBatchesError(this.perClient);
    if (this.underWay >= this.limit) return new BatchesBusyError(this.limit);
    return undefined;
  }

  /** An onRequest hook: refuses the batch at once while every place, or every place its client may hold, is taken. */
  readonly refuseWhenFull = (request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    done(this.refusal(clientKey(request.ip)));
  };

  /** A preValidation hook, once the body has arrived and before it is parsed: takes a place for the batch, or refuses it. */
  readonly take = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    const client = clientKey(request.ip);
    const refused = this.refusal(client);
    if (refused !== undefined) return done(refused);
    this.underWay++;
    this.held.set(client, (this.held.get(client) ?? 0) + 1);
    const place: Place = { client, handlerRunning: false, answerDone: false, given: false };
    this.places.set(request, place);
    // The answer is done with when the response closes (written out, or cut short) or, for a response
    // queued behind another on a pipelined connection (which never closes if the connection dies
    // first), when the connection does.
    const answerDone = () => {
      place.answerDone = true;
      this.release(place);
    };
    const { socket } = request.raw;
    socket.once('close', answerDone);
    reply.raw.once('close', () => {
      socket.removeListener('close', answerDone);
      answerDone();
    });
    done();
  };

  /** For a handler that has started: the place is kept until the function returned is called, once its work is done. */
  claim(request: FastifyRequest): () => void {
    const place = this.places.get(request);
    if (place === undefined) return () => {};
    place.handlerRunning = true;
    return () => {
      place.handlerRunning = false;
      this.release(place);
    };
  }

  private release(place: Place): void {
    if (place.given || !place.answerDone || place.handlerRunning) return;
    place.given = true;
    this.underWay--;
    const left = (this.held.get(place.client) ?? 1) - 1;
    if (left > 0) this.held.set(place.client, left);
    else this.held.delete(place.client);
  }
}
