"""Builds the run's database templates — migrated, then with the demo world — in a process of its own.

The test controller starts it at the beginning of a run with workers (tests/conftest.py), so the
templates are being built while the workers import, collect and run the plain tests. It takes the
same file locks as a worker would: whoever comes first builds, the others wait for the ``.done``
file. If it fails, its log is left in the templates folder and the first worker that needs a
template builds it, and fails in the open.
"""
import gc
import os
from pathlib import Path

from tests.conftest import Databases


def main():
    gc.freeze()  # what the imports loaded stays: the seeding's full collections need not walk it (as in tests/conftest.py)
    folder = Path(os.environ["GRIDAPP_TEST_TEMPLATES"])
    databases = Databases(root=folder, shared_root=folder)
    databases.template(demo=True)  # the migrated template first, then the demo world on a copy


if __name__ == "__main__":
    main()
