/** Paths inside a table (PROTOCOL.md "Add File and Remove File": `path` is a URI, relative to the table root). */
import { TributaryError } from '../errors';

/** Object key (relative to the table root) of a data file named by an add/remove `path`. */
export function dataFileKey(path: string, tableUrl: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(path)) {
    // Absolute URI: only files under this table's root can be read through its store.
    const root = tableUrl.endsWith('/') ? tableUrl : `${tableUrl}/`;
    const decoded = decodeURI(path);
    if (path.startsWith(root)) return decodeURIComponent(path.slice(root.length));
    if (decoded.startsWith(root)) return decoded.slice(root.length);
    throw new TributaryError(
      'PROTOCOL_UNSUPPORTED',
      `data file ${path} lies outside table ${tableUrl} (absolute paths to other locations are not supported)`,
    );
  }
  return decodeURIComponent(path);
}

/** Hive-style escaping of a partition value in a directory name, as Spark does (ExternalCatalogUtils.escapePathName). */
export function escapePartitionValue(v: string): string {
  let out = '';
  for (const ch of v) {
    const c = ch.codePointAt(0)!;
    if (c < 0x20 || c === 0x7f || '"#%\'*/:=?\\{[]^'.includes(ch))
      out += `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
    else out += ch;
  }
  return out;
}

/** `a=1/b=x%3Ay/` directory for a file with these partition values (null → __HIVE_DEFAULT_PARTITION__). */
export function partitionDir(columns: readonly string[], values: Record<string, string | null>): string {
  return columns
    .map((c) => {
      const v = values[c];
      return `${escapePartitionValue(c)}=${v === null || v === undefined || v === '' ? '__HIVE_DEFAULT_PARTITION__' : escapePartitionValue(v)}`;
    })
    .map((s) => `${s}/`)
    .join('');
}

/** Encodes a key as the `path` of an add action: RFC 2396 URI escaping of each segment. */
export function encodeDataPath(key: string): string {
  return (
    key
      .split('/')
      // Like Spark (java.net.URI): escape what a URI path cannot hold, keep '=', '+', ':' etc. readable.
      .map((s) =>
        encodeURIComponent(s).replace(/%(3D|2B|3A|40|2C|24|26|3B)/g, (_, h: string) =>
          String.fromCharCode(parseInt(h, 16)),
        ),
      )
      .join('/')
  );
}
