import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import {
  S3Client,
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
} from '@aws-sdk/client-s3';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { Storage } from '@google-cloud/storage';
import type { ObjectStore } from '../../lake/storage/object-store';
import { openStore, type StoreOptions } from '../../lake/storage/open';
import { requireService } from './env';

export type BackendKind = 'local' | 's3' | 'azure' | 'gcs';
export const ALL_BACKENDS: readonly BackendKind[] = ['local', 's3', 'azure', 'gcs'];

/** Azurite's published development account (not a secret). */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
export const AZURITE_KEY =
  'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const S3_CREDS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

/** Store options that point every cloud adapter at the running emulators. */
export function emulatorOptions(kinds: readonly BackendKind[] = ALL_BACKENDS): StoreOptions {
  const o: StoreOptions = {};
  if (kinds.includes('s3'))
    o.s3 = { endpoint: requireService('s3').endpoint, region: 'us-east-1', credentials: S3_CREDS };
  if (kinds.includes('azure'))
    o.azure = { endpoint: requireService('azure').endpoint, accountKey: AZURITE_KEY };
  if (kinds.includes('gcs'))
    o.gcs = { endpoint: requireService('gcs').endpoint, projectId: 'tributary-test' };
  return o;
}

const CALL_DEADLINE_MS = 20_000;

/**
 * One emulator call with a deadline, tried up to 3 times. The cloud SDKs wait forever for an answer by
 * default, so an emulator that drops one request under load would otherwise hang a whole test file until
 * Jest's hook timeout, with no word about which service did not answer.
 */
async function emulatorCall<T>(
  what: string,
  fn: (signal: AbortSignal) => Promise<T>,
  deadlineMs = CALL_DEADLINE_MS,
): Promise<T> {
  const errors: string[] = [];
  for (let attempt = 1; attempt <= 3; attempt++) {
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        ac.abort();
        reject(new Error(`no answer within ${deadlineMs / 1000} s`));
      }, deadlineMs);
    });
    try {
      return await Promise.race([fn(ac.signal), deadline]);
    } catch (e) {
      errors.push(String((e as Error)?.message ?? e));
    } finally {
      clearTimeout(timer);
    }
  }
  throw new Error(`${what} failed 3 times (${errors.join('; ')}); the emulator logs are in .services/`);
}

/**
 * Creating a bucket or container of a fresh random name is retried (emulatorCall): when it already exists,
 * an earlier attempt made it and only its answer was lost (Azurite under load), so that is success.
 */
function ownEarlierAttempt(exists: boolean, e: unknown): void {
  if (!exists) throw e;
}

/**
 * Creates a fresh bucket/container (or temp dir) and returns its URL. `cleanup` removes it with all its
 * objects, so the emulators do not carry every earlier test's data through the whole suite.
 */
export async function createTestLocation(
  kind: BackendKind,
  prefix = '',
): Promise<{ url: string; cleanup: () => Promise<void> }> {
  const name = `t-${randomUUID().slice(0, 18)}`;
  const tail = prefix ? `/${prefix}` : '';
  switch (kind) {
    case 'local': {
      const dir = mkdtempSync(path.join(tmpdir(), 'tributary-'));
      return {
        url: `file://${dir}${tail}`,
        cleanup: async () => rmSync(dir, { recursive: true, force: true }),
      };
    }
    case 's3': {
      const { endpoint } = requireService('s3');
      const c = () =>
        new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3_CREDS });
      const client = c();
      try {
        await emulatorCall(`moto: create bucket ${name}`, (abortSignal) =>
          client.send(new CreateBucketCommand({ Bucket: name }), { abortSignal }).then(
            () => {},
            (e: { name?: string }) => ownEarlierAttempt(e.name === 'BucketAlreadyOwnedByYou', e),
          ),
        );
      } finally {
        client.destroy();
      }
      return {
        url: `s3://${name}${tail}`,
        cleanup: async () => {
          const client = c();
          try {
            // One deadline per request: a bucket after a long test holds thousands of objects.
            for (;;) {
              const page = await emulatorCall(`moto: list bucket ${name}`, (abortSignal) =>
                client.send(new ListObjectsV2Command({ Bucket: name }), { abortSignal }),
              );
              const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
              if (keys.length === 0) break;
              await emulatorCall(`moto: delete ${keys.length} objects of ${name}`, (abortSignal) =>
                client.send(new DeleteObjectsCommand({ Bucket: name, Delete: { Objects: keys } }), {
                  abortSignal,
                }),
              );
            }
            await emulatorCall(`moto: delete bucket ${name}`, (abortSignal) =>
              client.send(new DeleteBucketCommand({ Bucket: name }), { abortSignal }),
            );
          } finally {
            client.destroy();
          }
        },
      };
    }
    case 'azure': {
      const { endpoint } = requireService('azure');
      const container = new BlobServiceClient(
        endpoint,
        new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      ).getContainerClient(name);
      await emulatorCall(`azurite: create container ${name}`, (abortSignal) =>
        container.createIfNotExists({ abortSignal }),
      );
      return {
        url: `az://${AZURITE_ACCOUNT}/${name}${tail}`,
        cleanup: async () => {
          await emulatorCall(`azurite: delete container ${name}`, (abortSignal) =>
            container.deleteIfExists({ abortSignal }),
          );
        },
      };
    }
    case 'gcs': {
      const { endpoint } = requireService('gcs');
      const bucket = new Storage({ apiEndpoint: endpoint, projectId: 'tributary-test' }).bucket(name);
      await emulatorCall(`fake-gcs-server: create bucket ${name}`, () =>
        bucket.create().then(
          () => {},
          (e: { code?: number }) => ownEarlierAttempt(e.code === 409, e),
        ),
      );
      return {
        url: `gs://${name}${tail}`,
        cleanup: async () => {
          // deleteFiles is one request per object: its deadline allows for thousands.
          await emulatorCall(
            `fake-gcs-server: delete the objects of ${name}`,
            () => bucket.deleteFiles({ force: true }),
            180_000,
          );
          await emulatorCall(`fake-gcs-server: delete bucket ${name}`, () =>
            bucket.delete({ ignoreNotFound: true }).then(() => {}),
          );
        },
      };
    }
  }
}

/** A fresh, empty ObjectStore on the given backend (emulator or temp dir). */
export async function openTestStore(
  kind: BackendKind,
  prefix = '',
): Promise<ObjectStore & { cleanup: () => Promise<void> }> {
  const loc = await createTestLocation(kind, prefix);
  const store = await openStore(loc.url, emulatorOptions([kind]));
  return Object.assign(store, {
    cleanup: async () => {
      await store.close();
      await loc.cleanup();
    },
  });
}
