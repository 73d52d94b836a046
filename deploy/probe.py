"""Exit 0 when the local web process answers 200 at the given path (the image's HEALTHCHECK).

Sends the first of ALLOWED_HOSTS as the Host header, so Django's host validation lets it in.
"""

import os
import sys
import urllib.request

path = sys.argv[1] if len(sys.argv) > 1 else "/healthz"
host = (os.environ.get("ALLOWED_HOSTS") or "localhost").split(",")[0].strip().lstrip(".")
request = urllib.request.Request(
    f"http://127.0.0.1:{os.environ.get('PORT', '8800')}{path}", headers={"Host": host}
)
try:
    with urllib.request.urlopen(request, timeout=2) as response:
        sys.exit(0 if response.status == 200 else 1)
except OSError:
    sys.exit(1)
