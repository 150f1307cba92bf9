"""delta-rs (PyPI `deltalake`) as an interop peer for the tests.

Usage: python deltars_tool.py <command> <table-uri> [args] with storage options as JSON in DELTARS_STORAGE_OPTIONS.
  read <uri> [version]       -> one JSON line per row (values made JSON-safe), then nothing else
  meta <uri>                 -> {"version", "files", "schema", "partitionColumns", "history": [...]} as one JSON line
  write <uri> <jsonl> <mode> [partition_col,...]  -> write rows from a JSON-lines file (mode append|overwrite)
  append-loop <uri> <writer> <count>               -> <count> single-row appends {"writer", "seq"}
"""
import base64
import datetime
import decimal
import json
import os
import sys

import pyarrow as pa
from deltalake import CommitProperties, DeltaTable, write_deltalake


def opts():
    raw = os.environ.get("DELTARS_STORAGE_OPTIONS")
    return json.loads(raw) if raw else None


def safe(v):
    if isinstance(v, (datetime.datetime,)):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
            return v.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return v.strftime("%Y-%m-%dT%H:%M:%S.%f")
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, bytes):
        return base64.b64encode(v).decode()
    if isinstance(v, int) and abs(v) > 2**53:
        return str(v)
    if isinstance(v, dict):
        return {k: safe(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [safe(x) for x in v]
    return v


def main():
    cmd, uri = sys.argv[1], sys.argv[2]
    so = opts()
    if cmd == "read":
        version = int(sys.argv[3]) if len(sys.argv) > 3 else None
        dt = DeltaTable(uri, storage_options=so, version=version)
        for row in dt.to_pyarrow_table().to_pylist():
            print(json.dumps({k: safe(v) for k, v in row.items()}))
    elif cmd == "meta":
        dt = DeltaTable(uri, storage_options=so)
        print(json.dumps({
            "version": dt.version(),
            "files": len(dt.file_uris()),
            "partitionColumns": dt.metadata().partition_columns,
            "schema": json.loads(dt.schema().to_json()),
            "history": [{k: h.get(k) for k in ("version", "operation", "readVersion", "isBlindAppend", "engineInfo")} for h in dt.history()],
        }, default=str))
    elif cmd == "write":
        path, mode = sys.argv[3], sys.argv[4]
        parts = sys.argv[5].split(",") if len(sys.argv) > 5 and sys.argv[5] else None
        with open(path) as f:
            rows = [json.loads(l) for l in f if l.strip()]
        write_deltalake(uri, pa.Table.from_pylist(rows), mode=mode, partition_by=parts, storage_options=so)
    elif cmd == "optimize":
        # optimize.compact(): delta-rs's bin-packing compaction; prints its metrics.
        target = int(sys.argv[3]) if len(sys.argv) > 3 else None
        dt = DeltaTable(uri, storage_options=so)
        print(json.dumps(dt.optimize.compact(target_size=target), default=str))
    elif cmd == "append-loop":
        writer, count = sys.argv[3], int(sys.argv[4])
        for i in range(count):
            t = pa.table({"writer": pa.array([writer]), "seq": pa.array([i], pa.int64())})
            # delta-rs gives up after 15 commit attempts by default (delta-rs#1595); under the contention of this
            # test on a slow emulator that is too few, so it gets a budget like ours.
            write_deltalake(uri, t, mode="append", storage_options=so, commit_properties=CommitProperties(max_commit_retries=200))
    else:
        raise SystemExit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
    # deltalake's background runtime can abort the interpreter during teardown ("terminate called
    # without an active exception") after all work is done; leave without teardown instead.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
