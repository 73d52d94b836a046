"""The official npm client (parlant-client 3.3.1), unchanged, from Node against our server.

node_client/matrix.mjs calls every public method of the npm client, each result read back,
and reports which it called; this test installs the package from the npm registry (npm ci, as
the React widget test does) and checks that the calls cover the client's whole surface.
"""

import json
import shutil
import subprocess
from pathlib import Path

CLIENT_DIRECTORY = Path(__file__).parent / "node_client"


def test_every_method_of_the_npm_client_works_against_our_server(product):
    npm, node = shutil.which("npm"), shutil.which("node")
    assert npm, "the npm client matrix needs npm"
    assert node, "the npm client matrix needs Node.js"
    subprocess.run(
        [npm, "ci", "--no-audit", "--no-fund"], cwd=CLIENT_DIRECTORY, check=True, timeout=300,
        capture_output=True,
    )
    run = subprocess.run(
        [node, "matrix.mjs", product.url], cwd=CLIENT_DIRECTORY, timeout=300,
        capture_output=True, text=True,
    )
    assert run.returncode == 0, run.stderr[-4000:] + product.logs()[-2000:]
    report = json.loads(run.stdout.strip().splitlines()[-1])
    assert len(report["all"]) == 71
    assert sorted(set(report["all"]) - set(report["called"])) == []
