/** Builds a Worker the same way for every queue: one connection, activities mapped through toFailure. */
import { type NativeConnection, Worker, type WorkerOptions } from '@temporalio/worker';
import { type TemporalSettings, plainSettings } from '../config/temporal';
import { connectNative } from './connection';
import { wrapActivities } from '../activities/failures';

type ActivityFns = Record<string, (...args: never[]) => Promise<unknown>>;

export type CreateWorkerOptions = (
  | { connection: NativeConnection; address?: never }
  /** An address (plaintext) or full settings (TLS, API key): a connection is opened here. */
  | { address: string | TemporalSettings; connection?: never }
) &
  Pick<WorkerOptions, 'namespace' | 'taskQueue' | 'workflowsPath' | 'workflowBundle'> & {
    activities?: ActivityFns;
  };

export interface CreatedWorker {
  worker: Worker;
  connection: NativeConnection;
  /** Closes the connection if it was opened here from `address`; call once the worker has stopped. */
  close(): Promise<void>;
}

export async function createWorker(opts: CreateWorkerOptions): Promise<CreatedWorker> {
  const { connection: given, address, activities, ...rest } = opts;
  const connection =
    given ?? (await connectNative(typeof address === 'string' ? plainSettings(address) : address));
  const close = given ? async () => {} : () => connection.close();
  try {
    const worker = await Worker.create({
      ...rest,
      connection,
      activities: activities ? wrapActivities(activities) : undefined,
    });
    return { worker, connection, close };
  } catch (e) {
    await close();
    throw e;
  }
}
