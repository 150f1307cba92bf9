/**
 * Azurite's blob service (npm azurite, pinned in package.json) with its garbage collection of deleted blob
 * data every 15 seconds instead of every 10 minutes.
 *
 * Azurite 3.35.0 deletes unreferenced extents one at a time from a LokiJS collection whose index it
 * rebuilds after every removal (BlobGCManager.markSweep -> deleteExtents -> Collection.findAndRemove ->
 * ensureAllIndexes), so one sweep costs about (extents deleted) x (extents) x log(extents), all on its
 * event loop. After 10 minutes of the test suite, with whole test containers deleted in between, one sweep
 * answered no request for over 4 minutes (seen with the inspector in CI); with a sweep a minute, the longest
 * pause a probe saw was 14 s. The pause grows with the extents deleted per sweep, so sweeps come often.
 *
 * Usage is azurite-blob's: node deploy/azurite-blob.cjs --blobPort PORT ...
 */
'use strict';
/* global require */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const constants = require('azurite/dist/src/blob/utils/constants');

constants.DEFAULT_GC_INTERVAL_MS = 15 * 1000;
// eslint-disable-next-line @typescript-eslint/no-require-imports
require('azurite/dist/src/blob/main');
