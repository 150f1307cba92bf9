"""Apache Spark + Delta Lake (PyPI `pyspark`, `delta-spark`) as an interop peer for the tests.

Usage: python spark_tool.py <command> <table-path> [args]
  read <path> [version]  -> one JSON line per row of spark.read.format("delta").load(path) (versionAsOf when given)
  history <path>         -> one JSON line {"version", "operation"} per DESCRIBE HISTORY row, oldest first
  batch '<json>'         -> several commands in one JVM: a JSON array of [command, path] or [command, path, version];
                            each output line is {"i": <index of the command>, "row": <line as above>}
  warm                   -> start and stop a session only (resolves the Delta jars into the Ivy cache)

Only those JSON lines go to stdout; Spark's and Ivy's output goes to stderr. Values are made JSON-safe:
timestamps as YYYY-MM-DDTHH:MM:SS.ffffffZ in UTC (timestamp_ntz without the Z), dates ISO, decimals as strings,
binary as base64, integers beyond 2^53 as strings, non-finite floats as "NaN"/"Infinity"/"-Infinity", structs and
maps as objects, arrays as lists.

The Delta jars are resolved from Maven Central by Ivy on first use and cached in SPARK_IVY_DIR
(default: <project>/.venv/ivy); Java 17 must be on PATH or in JAVA_HOME.
"""
import os
import sys
import time

# Python-side timestamp conversion uses the process's local zone: pin it (and the JVM's) to UTC before anything else.
os.environ["TZ"] = "UTC"
time.tzset()
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

# Keep stdout for the JSON lines only: everything else (the JVM inherits fd 1) goes to stderr.
_OUT = os.fdopen(os.dup(1), "w", buffering=1)
os.dup2(2, 1)
sys.stdout = sys.stderr

import base64  # noqa: E402
import datetime  # noqa: E402
import decimal  # noqa: E402
import json  # noqa: E402
import math  # noqa: E402
import tempfile  # noqa: E402

PROJECT_ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
IVY_DIR = os.environ.get("SPARK_IVY_DIR") or os.path.join(PROJECT_ROOT, ".venv", "ivy")

LOG4J2 = """\
rootLogger.level = error
rootLogger.appenderRef.stderr.ref = console
appender.console.type = Console
appender.console.name = console
appender.console.target = SYSTEM_ERR
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = %d{HH:mm:ss.SSS} %p %c{1}: %m%n%ex
"""


def session(tmp):
    from delta import configure_spark_with_delta_pip
    from pyspark.sql import SparkSession

    log4j = os.path.join(tmp, "log4j2.properties")
    with open(log4j, "w") as f:
        f.write(LOG4J2)
    # C1-only JIT and the serial GC: these runs are short and tiny, and this roughly halves their CPU time.
    java_opts = " ".join([
        f"-Dlog4j.configurationFile=file:{log4j}",
        "-Duser.timezone=UTC",
        "-XX:TieredStopAtLevel=1",
        "-XX:+UseSerialGC",
        os.environ.get("SPARK_TOOL_JAVA_OPTS", ""),
    ]).strip()
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("tributary-interop")
        .config("spark.driver.memory", "1g")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        .config("spark.driver.extraJavaOptions", java_opts)
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.default.parallelism", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.sql.warehouse.dir", os.path.join(tmp, "warehouse"))
        .config("spark.local.dir", tmp)
        .config("spark.jars.ivy", IVY_DIR)
        .config("spark.sql.extensions", "io.delta.sql.DeltaSparkSessionExtension")
        .config("spark.sql.catalog.spark_catalog", "org.apache.spark.sql.delta.catalog.DeltaCatalog")
        # Derby/Hive are not used; keep the in-memory catalog so no metastore_db appears in the working directory.
        .config("spark.sql.catalogImplementation", "in-memory")
    )
    spark = configure_spark_with_delta_pip(builder).getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def safe(v, t):
    """Make a value collected from Spark JSON-safe, guided by its Spark data type `t`."""
    from pyspark.sql import types as T

    if v is None:
        return None
    if isinstance(t, T.StructType):
        return {f.name: safe(v[i], f.dataType) for i, f in enumerate(t.fields)}
    if isinstance(t, T.ArrayType):
        return [safe(x, t.elementType) for x in v]
    if isinstance(t, T.MapType):
        out = {}
        for k, x in v.items():
            key = safe(k, t.keyType)
            out[key if isinstance(key, str) else json.dumps(key)] = safe(x, t.valueType)
        return out
    if isinstance(v, datetime.datetime):
        if v.tzinfo is not None:
            v = v.astimezone(datetime.timezone.utc).replace(tzinfo=None)
        s = v.strftime("%Y-%m-%dT%H:%M:%S.%f")
        # TimestampType is an instant (rendered in UTC since TZ=UTC); TimestampNTZType is a wall-clock value.
        return s if isinstance(t, T.TimestampNTZType) else s + "Z"
    if isinstance(v, datetime.date):
        return v.isoformat()
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if isinstance(v, bool):
        return v
    if isinstance(v, int):
        return str(v) if abs(v) > 2**53 else v
    if isinstance(v, float) and not math.isfinite(v):
        return "NaN" if math.isnan(v) else ("Infinity" if v > 0 else "-Infinity")
    return v


def emit(obj):
    _OUT.write(json.dumps(obj) + "\n")


def run(spark, cmd, path, version=None, out=emit):
    if cmd == "read":
        reader = spark.read.format("delta")
        if version is not None:
            reader = reader.option("versionAsOf", int(version))
        df = reader.load(path)
        schema = df.schema
        for row in df.collect():
            out({f.name: safe(row[i], f.dataType) for i, f in enumerate(schema.fields)})
    elif cmd == "history":
        from delta.tables import DeltaTable

        hist = DeltaTable.forPath(spark, path).history().select("version", "operation").orderBy("version")
        for row in hist.collect():
            out({"version": row["version"], "operation": row["operation"]})
    else:
        raise SystemExit(f"unknown command {cmd}")


def main():
    args = sys.argv[1:]
    if not args or args[0] not in ("read", "history", "batch", "warm") or (args[0] in ("read", "history", "batch") and len(args) < 2):
        raise SystemExit(__doc__)
    if args[0] == "batch":
        # One JVM for several commands: each JVM start costs several seconds of CPU.
        jobs = json.loads(args[1])
        if not isinstance(jobs, list) or not all(isinstance(j, list) and len(j) in (2, 3) for j in jobs):
            raise SystemExit("batch takes a JSON array of [command, path] or [command, path, version]")
    elif args[0] == "warm":
        jobs = []
    else:
        jobs = [args[:3]]
    with tempfile.TemporaryDirectory(prefix="spark-tool-") as tmp:
        spark = session(tmp)
        try:
            for i, job in enumerate(jobs):
                out = emit if args[0] != "batch" else (lambda obj, i=i: emit({"i": i, "row": obj}))
                run(spark, job[0], job[1], job[2] if len(job) > 2 else None, out)
        finally:
            spark.stop()
    _OUT.flush()


if __name__ == "__main__":
    main()
