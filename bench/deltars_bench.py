"""delta-rs (PyPI `deltalake`) side of bench/delta.ts.

Runs as a worker: one JSON request per line on stdin, one JSON reply per line on stdout, until stdin closes.
Keeping one interpreter for the whole bench leaves start-up and imports out of the numbers and lets the
Node side interleave delta-rs runs with its own. Each request times itself; times are milliseconds.

  {"op": "load", "uri": ..., "version": null | int}
      DeltaTable(uri[, version]) then file_uris(), so the active file list is materialised as Snapshot.load
      does on our side -> {"ms", "table_ms" (DeltaTable() alone), "version", "files"}
  {"op": "append", "uri": ..., "parquet": ..., "partition_by": null | [...], "codec": null | "ZSTD"}
      pyarrow.parquet.read_table(parquet), then write_deltalake(uri, table, mode="append") to a new table;
      codec sets WriterProperties(compression=...), null keeps delta-rs's default (snappy)
      -> {"ms" (read + write), "read_ms", "write_ms", "rows", "arrow_bytes"}
  {"op": "files", "uri": ...} -> {"files", "bytes"} from get_add_actions
  {"op": "ingest_json", "uri": ..., "files": [...], "codec": null | "ZSTD"}   (bench/ingest.ts)
      pyarrow.json.read_json of each JSON Lines file (.gz decompressed by pyarrow), concat_tables with
      permissive type promotion (files may differ in their occasional fields), then one
      write_deltalake(uri, table, mode="append") to a new table
      -> {"ms" (read + write), "read_ms", "write_ms", "rows", "arrow_bytes", "files_written", "rows_written", "bytes_written"}
  {"op": "optimize", "uri": ..., "target_size": bytes}   (bench/optimize.ts)
      DeltaTable(uri).optimize.compact(target_size=...) -> {"ms", "metrics"}
  {"op": "versions"} -> {"pyarrow", "deltalake", "python"} (also imports everything, out of any timing)

Run with /work/main/.venv/bin/python.
"""
import json
import os
import sys
import time

import pyarrow as pa
import pyarrow.json as pj
import pyarrow.parquet as pq
import deltalake
from deltalake import DeltaTable, WriterProperties, write_deltalake


def ms_since(t0):
    return (time.perf_counter() - t0) * 1000


def load(req):
    t0 = time.perf_counter()
    dt = DeltaTable(req["uri"], version=req.get("version"))
    table_ms = ms_since(t0)
    n = len(dt.file_uris())
    total = ms_since(t0)
    return {"ms": total, "table_ms": table_ms, "version": dt.version(), "files": n}


def append(req):
    codec = req.get("codec")
    props = WriterProperties(compression=codec) if codec else None
    t0 = time.perf_counter()
    tbl = pq.read_table(req["parquet"])
    read_ms = ms_since(t0)
    t1 = time.perf_counter()
    write_deltalake(req["uri"], tbl, mode="append", partition_by=req.get("partition_by"), writer_properties=props)
    write_ms = ms_since(t1)
    return {"ms": read_ms + write_ms, "read_ms": read_ms, "write_ms": write_ms, "rows": tbl.num_rows, "arrow_bytes": tbl.nbytes}


def files(req):
    adds = DeltaTable(req["uri"]).get_add_actions(flatten=True)
    return {"files": adds.num_rows, "bytes": sum(adds.column("size_bytes").to_pylist())}


def ingest_json(req):
    codec = req.get("codec")
    props = WriterProperties(compression=codec) if codec else None
    t0 = time.perf_counter()
    tables = [pj.read_json(f) for f in req["files"]]
    tbl = pa.concat_tables(tables, promote_options="permissive") if len(tables) > 1 else tables[0]
    read_ms = ms_since(t0)
    t1 = time.perf_counter()
    write_deltalake(req["uri"], tbl, mode="append", writer_properties=props)
    write_ms = ms_since(t1)
    adds = DeltaTable(req["uri"]).get_add_actions(flatten=True)
    return {
        "ms": read_ms + write_ms,
        "read_ms": read_ms,
        "write_ms": write_ms,
        "rows": tbl.num_rows,
        "arrow_bytes": tbl.nbytes,
        "files_written": adds.num_rows,
        "rows_written": sum(adds.column("num_records").to_pylist()),
        "bytes_written": sum(adds.column("size_bytes").to_pylist()),
        "schema": [f"{f.name}: {f.type}" for f in tbl.schema],
    }


def optimize(req):
    t0 = time.perf_counter()
    dt = DeltaTable(req["uri"])
    m = dt.optimize.compact(target_size=req.get("target_size"))
    return {"ms": ms_since(t0), "metrics": m}


def versions(_req):
    return {"pyarrow": pa.__version__, "deltalake": deltalake.__version__, "python": sys.version.split()[0]}


OPS = {"optimize": optimize, "load": load, "append": append, "files": files, "ingest_json": ingest_json, "versions": versions}


def main():
    for line in sys.stdin:
        if not line.strip():
            continue
        req = json.loads(line)
        try:
            res = OPS[req["op"]](req)
        except Exception as e:  # reported to the Node side, which fails the bench with it
            res = {"error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(res) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
    # As in test/interop/deltars_tool.py: deltalake's runtime can abort the interpreter during teardown
    # after all work is done, so leave without it.
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
