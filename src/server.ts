import { createServer } from 'node:net';
import { buildApp } from './app.js';
import { appOptions, ConfigError, EX_CONFIG, loadConfig, misspeltSettings, settingConflicts } from './config.js';

/** How long the database may take to close once the grace period has run out and the connections are cut. */
const CLOSE_AFTER_GRACE_MS = 2_000;

/**
 * Starts the server from the environment's configuration, and resolves once it listens. A start that
 * fails ends the process: 78 (EX_CONFIG) for a configuration error, 1 for anything else.
 */
export async function startServer(): Promise<void> {
  try {
    await listen();
  } catch (error) {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  }
}

async function listen() {
  let config: ReturnType<typeof loadConfig>;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(EX_CONFIG);
    }
    throw error;
  }

  // Before the database is opened: a start that cannot listen must leave it as it was, not migrated
  // to this version under a server of an earlier one.
  await probeListen(config);
  const app = await buildApp({ ...appOptions(config), misspeltSettings: misspeltSettings() });
  for (const conflict of settingConflicts(config)) app.log.warn(conflict);

  let closing = false;
  const shutdown = async (signal: NodeJS.Signals) => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'shutting down: finishing in-flight requests');
    let graceExceeded = false;
    const timer = setTimeout(() => {
      // What is still open is a request still arriving (a stalled upload, never acknowledged) or a
      // handler past its time: cut the connections so that close() can close the database, and
      // give it a moment before exiting without it.
      graceExceeded = true;
      app.log.error('shutdown grace period exceeded: closing the connections still open');
      app.server.closeAllConnections();
      setTimeout(() => process.exit(1), CLOSE_AFTER_GRACE_MS).unref();
    }, config.shutdownGraceMs);
    timer.unref();
    try {
      // close() refuses new requests, waits for responses still being written, stops listening, waits
      // for the requests in flight, then runs the onClose hooks (the database closes last).
      await app.close();
      const code = graceExceeded ? 1 : 0;
      app.log.info({ exitCode: code }, 'shut down');
      process.exit(code);
    } catch (error) {
      app.log.error({ err: error }, 'shutdown failed');
      process.exit(1);
    }
  };
  // Kept for the whole run: a repeated signal while draining is ignored instead of ending the
  // process at once (Node's default once a `once` listener is gone).
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);

  try {
    await app.listen({ port: config.port, host: config.host });
  } catch (error) {
    const named = listenError(error, config);
    // Not listening, so nothing is in flight: close the database, unless a signal already does.
    if (!closing) {
      closing = true;
      await app.close().catch((closeError: unknown) => app.log.error({ err: closeError }, 'close after a failed listen'));
    }
    throw named;
  }
}

/** Listens on HOST and PORT for a moment, then closes: fails as the server's own listen would. */
async function probeListen(config: { host: string; port: number }): Promise<void> {
  const probe = createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(config.port, config.host, resolve);
    });
  } catch (error) {
    throw listenError(error, config);
  }
  await new Promise((resolve) => probe.close(resolve));
}

/** A failure to listen names the setting behind it: an unknown HOST, or a PORT taken or not allowed. */
function listenError(error: unknown, { host, port }: { host: string; port: number }): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const setting =
    code === 'ENOTFOUND' || code === 'EAI_AGAIN' || code === 'EADDRNOTAVAIL'
      ? `HOST ${JSON.stringify(host)} cannot be listened on`
      : code === 'EADDRINUSE' || code === 'EACCES'
        ? `PORT ${port} on HOST ${JSON.stringify(host)} cannot be listened on`
        : undefined;
  return setting === undefined ? error : new Error(`${setting}: ${(error as Error).message}`, { cause: error });
}
