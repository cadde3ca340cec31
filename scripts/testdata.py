"""Where the test data is, for every script of the repository.

The conformance corpus lives in `tests/corpus` (FoxIO's captures and the
expected outputs of independent tools, the JA3 vectors); `DECNET_CORPUS` or
an explicit `--corpus` may point elsewhere. Our own captures are under
`tests/data`. Import it from a script elsewhere in the repository with
`sys.path.insert(0, <repo>/scripts)`.
"""

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def corpus_dir(given=None):
    """The corpus folder: `given`, else `$DECNET_CORPUS`, else tests/corpus.
    Exits with one line naming the folder when it holds no FoxIO captures."""
    path = given or os.environ.get("DECNET_CORPUS") or os.path.join(ROOT, "tests", "corpus")
    path = os.path.abspath(path)
    if not os.path.isdir(os.path.join(path, "foxio", "pcap")):
        sys.exit(f"{path}: not a conformance corpus (no foxio/pcap folder in it)")
    return path


def test_data(*rel):
    """A path under tests/data."""
    return os.path.join(ROOT, "tests", "data", *rel)
