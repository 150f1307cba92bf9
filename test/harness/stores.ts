import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { S3Client, CreateBucketCommand } from '@aws-sdk/client-s3';
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

/** Creates a fresh bucket/container (or temp dir) and returns its URL. */
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
      const c = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3_CREDS });
      await c.send(new CreateBucketCommand({ Bucket: name }));
      c.destroy();
      return { url: `s3://${name}${tail}`, cleanup: async () => {} };
    }
    case 'azure': {
      const { endpoint } = requireService('azure');
      const svc = new BlobServiceClient(
        endpoint,
        new StorageSharedKeyCredential(AZURITE_ACCOUNT, AZURITE_KEY),
      );
      await svc.getContainerClient(name).create();
      return { url: `az://${AZURITE_ACCOUNT}/${name}${tail}`, cleanup: async () => {} };
    }
    case 'gcs': {
      const { endpoint } = requireService('gcs');
      const storage = new Storage({ apiEndpoint: endpoint, projectId: 'tributary-test' });
      await storage.createBucket(name);
      return { url: `gs://${name}${tail}`, cleanup: async () => {} };
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
