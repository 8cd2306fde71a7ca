// node-postgres reports two failures with no code at all, only a message: a pool that cannot
// hand out a connection (pg-pool's "timeout exceeded when trying to connect" when every
// connection stays busy for connectionTimeoutMillis, "Connection terminated due to connection
// timeout" when opening one hangs) and a connection that ends under a statement ("Connection
// terminated unexpectedly"). Everything else that means "the database cannot serve us now"
// carries a SQLSTATE or an errno. This pool gives those two the SQLSTATEs PostgreSQL's own
// client library uses for them, 08001 (sqlclient_unable_to_establish_sqlconnection) and 08006
// (connection_failure), where they happen, so that the error handler recognises database
// trouble by code alone and never by message text. Codes an error already has are kept.
import pg from 'pg';

export const UNABLE_TO_CONNECT = '08001';
export const CONNECTION_FAILURE = '08006';

function withCode(error: unknown, code: string): unknown {
  if (error instanceof Error && !(error as { code?: unknown }).code) Object.assign(error, { code });
  return error;
}

/**
 * A client that labels the error of a connection that ends under it. pg hands one error object
 * to the 'error' event and to every pending statement; the event fires first (the statements
 * are failed on the next tick), so the statements see the label.
 */
class LabellingClient extends pg.Client {
  constructor(config?: string | pg.ClientConfig) {
    super(config);
    this.on('error', (error) => withCode(error, CONNECTION_FAILURE));
  }
}

type ConnectCallback = (err: Error | undefined, client: pg.PoolClient | undefined, done: (release?: unknown) => void) => void;

/** pg.Pool whose checkout failures carry 08001 and whose lost connections carry 08006. */
export class LabellingPool extends pg.Pool {
  constructor(config: pg.PoolConfig) {
    super({ ...config, Client: LabellingClient });
  }

  // pg-pool's own query() checks out through this method too.
  override connect(): Promise<pg.PoolClient>;
  override connect(callback: ConnectCallback): void;
  // biome-ignore lint/suspicious/noConfusingVoidType: pg.Pool's own signature, which this overrides
  override connect(callback?: ConnectCallback): Promise<pg.PoolClient> | void {
    if (!callback) {
      return super.connect().catch((error: unknown) => {
        throw withCode(error, UNABLE_TO_CONNECT);
      });
    }
    super.connect((error, client, done) => callback(error && (withCode(error, UNABLE_TO_CONNECT) as Error), client, done));
  }
}
