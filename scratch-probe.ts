import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { startAzurite } from './test/harness/services';

const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
async function main() {
  const svc = await startAzurite('/tmp/azlogs');
  if (svc.error) throw new Error(svc.error);
  console.log('endpoint', svc.endpoint);
  try {
    const cred = new StorageSharedKeyCredential('devstoreaccount1', KEY);
    const sc = new BlobServiceClient(svc.endpoint!, cred, { retryOptions: { maxTries: 1 } });
    console.log('accountName', sc.accountName);
    const cc = sc.getContainerClient('probe');
    await cc.create();
    const names = ['a b', 'a+b', 'a=b', 'a%b', 'a%20b', 'ü', '\u{1F600}', '\uFFFD', '\uE000', 'z', 'Z', 'a/b', 'a-b', 'a.b'];
    for (const n of names) await cc.getBlockBlobClient(n).upload(n, Buffer.byteLength(n));
    const listed: string[] = [];
    for await (const page of cc.listBlobsFlat().byPage({ maxPageSize: 3 })) for (const b of page.segment.blobItems) listed.push(b.name);
    console.log('listed', JSON.stringify(listed));
    const utf8 = [...names].sort((a, b) => Buffer.compare(Buffer.from(a), Buffer.from(b)));
    console.log('utf8  ', JSON.stringify(utf8));
    console.log('utf16 ', JSON.stringify([...names].sort()));
    for (const n of names) {
      const d = await cc.getBlobClient(n).downloadToBuffer();
      if (d.toString() !== n) console.log('MISMATCH', n, d.toString());
    }
    // head missing
    try { await cc.getBlobClient('nope').getProperties(); } catch (e: any) { console.log('head missing', e.statusCode, e.code, e.details?.errorCode); }
    try { await sc.getContainerClient('nocont').getBlobClient('x').getProperties(); } catch (e: any) { console.log('head missing container', e.statusCode, e.code); }
    try { await sc.getContainerClient('nocont').getBlobClient('x').download(); } catch (e: any) { console.log('get missing container', e.statusCode, e.code); }
    try { await cc.getBlobClient('nope').download(); } catch (e: any) { console.log('get missing', e.statusCode, e.code, e.message.split('\n')[0]); }
    // copy
    try {
      const p = await cc.getBlobClient('copy1').beginCopyFromURL(cc.getBlobClient('a b').url);
      const r = await p.pollUntilDone();
      console.log('beginCopy', r.copyStatus, (await cc.getBlobClient('copy1').downloadToBuffer()).toString());
    } catch (e: any) { console.log('beginCopy err', e.statusCode, e.code, e.message.split('\n')[0]); }
    try {
      const r = await cc.getBlobClient('copy2').syncCopyFromURL(cc.getBlobClient('a%b').url);
      console.log('syncCopy', r.copyStatus, (await cc.getBlobClient('copy2').downloadToBuffer()).toString());
    } catch (e: any) { console.log('syncCopy err', e.statusCode, e.code, e.message.split('\n')[0]); }
    try {
      const p = await cc.getBlobClient('copy3').beginCopyFromURL(cc.getBlobClient('missing').url);
      await p.pollUntilDone();
    } catch (e: any) { console.log('beginCopy missing', e.statusCode, e.code, e.message.split('\n')[0]); }
    // batch
    try {
      const bc = cc.getBlobBatchClient();
      const r = await bc.deleteBlobs(['a b', 'a%b', 'does-not-exist', '\u{1F600}'].map((n) => cc.getBlobClient(n)));
      console.log('batch', r._response.status, r.subResponsesSucceededCount, r.subResponsesFailedCount, r.subResponses.map((s) => [s.status, s.errorCode]));
      for (const n of ['a b', 'a%b', '\u{1F600}']) console.log(n, 'exists after batch', await cc.getBlobClient(n).exists());
    } catch (e: any) { console.log('batch err', e.statusCode, e.code, e.message.split('\n')[0]); }
  } finally {
    await svc.stop();
  }
}
main().catch((e) => { console.error(e); process.exit(1); });
