"""
moto's S3 server (PyPI moto[server], pinned in scripts/install-services.sh) with PutObject made atomic.

moto 5.2.5 checks a PutObject's If-None-Match / If-Match against the stored key and then stores the body in
separate steps, with no lock between them (moto/s3/responses.py, S3Response.put_object), while its server
answers each request on a thread of its own. Two conditional PUTs of one key that race can therefore both
succeed, the second overwriting the first: test/delta/concurrency.test.ts saw two S3 writers both commit
table version 87. Real S3 lets exactly one of them win, and Delta commits on S3 rely on that. Here every
PutObject runs under one lock, so its check and its store are one step; everything else is moto as released.

Usage is moto_server's: python deploy/moto_server.py -H 127.0.0.1 -p PORT
"""

import sys
import threading

from moto.s3.responses import S3Response
from moto.server import main

_lock = threading.Lock()
_put_object = S3Response.put_object


def _atomic_put_object(self):  # type: ignore[no-untyped-def]
    with _lock:
        return _put_object(self)


S3Response.put_object = _atomic_put_object  # type: ignore[method-assign]

if __name__ == "__main__":
    sys.argv[0] = "moto_server"
    sys.exit(main())
