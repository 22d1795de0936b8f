import type { FastifyReply, FastifyRequest } from 'fastify';
import { BatchesBusyError } from '../../errors.js';

type Place = { handled: boolean; giveBack: () => void };

/**
 * The batches under way at once. A 500-item batch holds about 40 MB while it is scored, stored and
 * sent, and two cores score one no faster for having several at once: those beyond the limit are
 * refused (503), so that parallel batches cannot run the server out of memory. A batch takes its
 * place once its body has arrived: a body still arriving holds little memory, and a client that
 * trickled two bodies would otherwise keep every other client's batches out. While every place is
 * taken, a batch is refused as soon as its headers arrive, before its body is read.
 */
export class BatchPlaces {
  private underWay = 0;
  private readonly places = new WeakMap<FastifyRequest, Place>();

  constructor(private readonly limit: number) {}

  /** An onRequest hook: refuses the batch at once while every place is taken. */
  readonly refuseWhenFull = (_request: FastifyRequest, _reply: FastifyReply, done: (error?: Error) => void) => {
    done(this.underWay >= this.limit ? new BatchesBusyError(this.limit) : undefined);
  };

  /** A preValidation hook, once the body has arrived: takes a place for the batch, or refuses it. */
  readonly take = (request: FastifyRequest, reply: FastifyReply, done: (error?: Error) => void) => {
    if (this.underWay >= this.limit) return done(new BatchesBusyError(this.limit));
    this.underWay++;
    let given = false;
    const place: Place = {
      handled: false,
      giveBack: () => {
        if (!given) this.underWay--;
        given = true;
      },
    };
    this.places.set(request, place);
    // A client that hangs up does not stop its batch: a handler that has started gives the place back
    // itself, once the batch is scored and stored. Otherwise the place goes back when the response
    // closes or, for a response queued behind another on a pipelined connection (which never closes
    // if the connection dies first), when the connection does.
    const unhandled = () => {
      if (!place.handled) place.giveBack();
    };
    const { socket } = request.raw;
    socket.once('close', unhandled);
    reply.raw.once('close', () => {
      socket.removeListener('close', unhandled);
      unhandled();
    });
    done();
  };

  /** For a handler that has started: from now on the place is its to give back, with what this returns, once. */
  claim(request: FastifyRequest): () => void {
    const place = this.places.get(request);
    if (place === undefined) return () => {};
    place.handled = true;
    return place.giveBack;
  }
}
